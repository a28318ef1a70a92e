#include "voiceman/cli/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <thread>

namespace voiceman::cli {
namespace {

// Only the watcher thread and StopOnSignals touch these.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_stop_requests_allowed{false};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// The signal's own default action, so that the parent sees "killed by SIGINT".
[[noreturn]] void die_by(int sig) {
  std::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
  std::_Exit(128 + sig);  // not reached: the default action ends the process
}

void watch() {
  const sigset_t set = stop_signals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (!g_stop_requests_allowed.load() || g_stop.exchange(true)) die_by(sig);
    static constexpr char kMessage[] =
        "\nvoiceman: stopping after the current batch (signal again to abandon it; "
        "re-run the same command to resume)\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  }
}

}  // namespace

void watch_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(watch).detach();  // lives as long as the process
}

StopOnSignals::StopOnSignals() {
  g_stop = false;
  g_stop_requests_allowed = true;
}

StopOnSignals::~StopOnSignals() { g_stop_requests_allowed = false; }

const std::atomic<bool>& StopOnSignals::flag() const { return g_stop; }

}  // namespace voiceman::cli
