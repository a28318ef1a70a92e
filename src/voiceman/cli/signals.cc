#include "voiceman/cli/signals.h"

#include <unistd.h>

#include <csignal>

namespace voiceman::cli {
namespace {

// Signal handlers can only reach globals; this one flag is all they touch.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);
struct sigaction g_old_int {
}, g_old_term{};

extern "C" void on_stop_signal(int sig) {
  if (g_stop.exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  static constexpr char kMessage[] =
      "\nvoiceman: stopping after the current batch (signal again to abandon it; "
      "re-run the same command to resume)\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

}  // namespace

StopOnSignals::StopOnSignals() {
  g_stop = false;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignals::~StopOnSignals() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

const std::atomic<bool>& StopOnSignals::flag() const { return g_stop; }

}  // namespace voiceman::cli
