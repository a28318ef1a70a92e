#pragma once
// SIGINT/SIGTERM for `voiceman run`: the first signal asks the pipeline to stop after the
// current batch; a second one abandons it at once (the default action), which is safe
// because every output is written atomically and the journal only records finished files.
#include <atomic>

namespace voiceman::cli {

class StopOnSignals {
 public:
  StopOnSignals();   // installs the handlers
  ~StopOnSignals();  // restores the previous ones
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  const std::atomic<bool>& flag() const;
};

}  // namespace voiceman::cli
