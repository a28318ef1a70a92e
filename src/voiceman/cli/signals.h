#pragma once
// SIGINT/SIGTERM. No working thread is ever interrupted by them: oneDNN's JIT f32 GEMM
// (Debian 12 ships oneDNN 2.7) points rsp into a heap buffer while it runs, so a signal
// frame pushed onto a compute thread corrupts the heap (oneDNN issue #4845; it aborted
// about one `voiceman run` in six that got a SIGINT). Instead main() blocks them before any
// thread exists, every later thread inherits that mask, and one watcher thread takes them
// with sigwait.
//
// While a StopOnSignals is alive (`voiceman run`), the first signal asks the pipeline to
// stop after the current batch and a second one abandons it at once (the default action),
// which is safe because every output is written atomically and the journal only records
// finished files. At any other time a signal has its default action.
#include <atomic>

namespace voiceman::cli {

// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it creates from
// then on) and starts the watcher. Call once, first thing in main().
void watch_stop_signals();

class StopOnSignals {
 public:
  StopOnSignals();  // from now on a first signal only sets flag()
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  const std::atomic<bool>& flag() const;
};

}  // namespace voiceman::cli
