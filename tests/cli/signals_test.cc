// Stop signals are taken by the watcher thread only; no other thread may ever be
// interrupted by one (oneDNN's JIT GEMM corrupts the heap when a signal frame lands on a
// compute thread). Each case runs in a death-test child: the mask is process-wide.
#include "voiceman/cli/signals.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace voiceman::cli::test {
namespace {

using namespace std::chrono_literals;

bool blocked_here(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

bool wait_for(const std::atomic<bool>& flag) {
  for (int i = 0; i < 1000 && !flag.load(); ++i) std::this_thread::sleep_for(10ms);
  return flag.load();
}

class StopSignals : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(StopSignals, EveryLaterThreadHasThemBlockedAndTheFirstOneOnlySetsTheFlag) {
  EXPECT_EXIT(
      {
        watch_stop_signals();
        bool worker_blocked = false;
        std::thread([&] { worker_blocked = blocked_here(SIGINT) && blocked_here(SIGTERM); }).join();
        StopOnSignals stop;
        if (!worker_blocked || !blocked_here(SIGINT) || stop.flag().load()) std::_Exit(10);
        ::kill(::getpid(), SIGINT);
        std::_Exit(wait_for(stop.flag()) ? 0 : 11);
      },
      ::testing::ExitedWithCode(0), "stopping after the current batch");
}

TEST_F(StopSignals, SecondSignalTakesTheDefaultAction) {
  EXPECT_EXIT(
      {
        watch_stop_signals();
        StopOnSignals stop;
        ::kill(::getpid(), SIGTERM);
        if (!wait_for(stop.flag())) std::_Exit(11);
        ::kill(::getpid(), SIGINT);
        std::this_thread::sleep_for(10s);
        std::_Exit(12);
      },
      ::testing::KilledBySignal(SIGINT), "");
}

TEST_F(StopSignals, OutsideAStopScopeASignalEndsTheProcess) {
  EXPECT_EXIT(
      {
        watch_stop_signals();
        { StopOnSignals stop; }
        ::kill(::getpid(), SIGTERM);
        std::this_thread::sleep_for(10s);
        std::_Exit(12);
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace voiceman::cli::test
