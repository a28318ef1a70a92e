#pragma once
// Running the built voiceman binary as a child process the tests can signal.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/corpus.h"

namespace voiceman::cli::test {

// Starts `voiceman args...` with stdout and stderr appended to `log`.
inline pid_t spawn_voiceman(const std::vector<std::string>& args,
                            const std::filesystem::path& log) {
  const std::string bin = voiceman::testing::voiceman_binary().string();
  std::vector<std::string> argv_s = {bin};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Exit status, or 128 + signal number.
inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Polls until `ready()` or the timeout; true if ready.
inline bool wait_until(const std::function<bool()>& ready, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Regular files under `dir` whose name ends with `suffix`.
inline int count_files(const std::filesystem::path& dir, const std::string& suffix) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::end(it); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      ++n;
  }
  return n;
}

// `voiceman args` through the shell; returns the exit code and fills `output`.
inline int voiceman(const std::string& args, std::string* output = nullptr) {
  return voiceman::testing::run_shell(
      voiceman::testing::quote(voiceman::testing::voiceman_binary().string()) + " " + args, output);
}

}  // namespace voiceman::cli::test
