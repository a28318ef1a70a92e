#include "support/redis_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "support/corpus.h"

namespace voiceman::testing {

namespace fs = std::filesystem;

RedisServer::RedisServer(int tcp_port, const std::string& password) {
  if (run_shell("command -v redis-server >/dev/null") != 0) return;
  static int count = 0;
  dir_ = fs::temp_directory_path() /
         ("voiceman-redis-" + std::to_string(::getpid()) + "-" + std::to_string(count++));
  fs::create_directories(dir_);
  const std::string socket = (dir_ / "redis.sock").string();
  std::vector<std::string> args = {"redis-server",          "--save", "",
                                   "--appendonly",          "no",     "--logfile",
                                   (dir_ / "log").string(), "--port", std::to_string(tcp_port)};
  if (tcp_port == 0)
    args.insert(args.end(), {"--unixsocket", socket});
  else
    args.insert(args.end(), {"--bind", "127.0.0.1"});
  if (!password.empty()) args.insert(args.end(), {"--requirepass", password});
  pid_ = ::fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    ::_exit(127);
  }
  // Up once it answers (a TCP port may also be taken by something else: then no url).
  const std::string cli = tcp_port == 0 ? "redis-cli -s " + quote(socket)
                                        : "redis-cli -h 127.0.0.1 -p " + std::to_string(tcp_port);
  const std::string auth = password.empty() ? "" : " --no-auth-warning -a " + quote(password);
  for (int i = 0; i < 300; ++i) {
    std::string out;
    if (run_shell(cli + auth + " ping", &out) == 0 && out.find("PONG") != std::string::npos) {
      url_ = tcp_port == 0 ? "unix://" : "redis://";
      if (!password.empty()) url_.append(":").append(password).append("@");
      url_ += tcp_port == 0 ? socket : "127.0.0.1:" + std::to_string(tcp_port);
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: port in use, say
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string test_redis_url() {
  if (const char* url = std::getenv("VOICEMAN_TEST_REDIS"); url && *url) return url;
  static RedisServer server;
  return server.url();
}

std::string unique_job_name(const std::string& test_name) {
  std::string name = "test-" + test_name + "-" + std::to_string(::getpid());
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  return name;
}

}  // namespace voiceman::testing
