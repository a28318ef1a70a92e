#pragma once
// Redis servers for the scale-out tests: the one .ci/run (scripts/test.sh) started,
// named by VOICEMAN_TEST_REDIS, or private redis-server processes started here.
#include <sys/types.h>

#include <filesystem>
#include <string>

namespace voiceman::testing {

// A redis-server child process, stopped when this is destroyed. On a Unix socket, or
// on 127.0.0.1:tcp_port when that is not 0; password: requirepass. url() is empty if
// redis-server is not installed or did not start.
class RedisServer {
 public:
  explicit RedisServer(int tcp_port = 0, const std::string& password = "");
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::filesystem::path dir_;
  std::string url_;
};

// VOICEMAN_TEST_REDIS, or else a private server shared by this test process.
std::string test_redis_url();

// A job name no other test process uses on the shared server.
std::string unique_job_name(const std::string& test_name);

}  // namespace voiceman::testing
