#include "support/redis_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "support/corpus.h"

namespace voiceman::testing {
namespace {

namespace fs = std::filesystem;

class PrivateServer {
 public:
  PrivateServer() {
    if (run_shell("command -v redis-server >/dev/null") != 0) return;
    dir_ = fs::temp_directory_path() / ("voiceman-redis-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string socket = (dir_ / "redis.sock").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", socket.c_str(),
               "--save", "", "--appendonly", "no", "--logfile", (dir_ / "log").c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !fs::exists(socket); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (fs::exists(socket)) url_ = "unix://" + socket;
  }
  ~PrivateServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  fs::path dir_;
  std::string url_;
};

}  // namespace

std::string test_redis_url() {
  if (const char* url = std::getenv("VOICEMAN_TEST_REDIS"); url && *url) return url;
  static PrivateServer server;
  return server.url();
}

std::string unique_job_name(const std::string& test_name) {
  std::string name = "test-" + test_name + "-" + std::to_string(::getpid());
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  return name;
}

}  // namespace voiceman::testing
