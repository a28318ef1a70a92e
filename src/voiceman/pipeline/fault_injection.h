#pragma once
// Deliberate failures on the real processing path, for proving the retry and failure
// handling end to end. Off unless a FaultSpec is given (the CLI reads it from
// VOICEMAN_INJECT_FAULT; the library never reads the environment).
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace voiceman::pipeline {

struct FaultSpec {
  bool transient = true;         // DeviceError (retried) or MediaError (permanent)
  std::string glob;              // matched against the input's relative path and its file name
  int count = 1;                 // how many times each matching input fails
  std::string stage = "decode";  // hash, decode, transcribe or write
};

// "KIND:GLOB:N[:STAGE]", KIND = transient | permanent. Throws ConfigError.
FaultSpec parse_fault_spec(std::string_view text);

// Counts failures per input; safe to call from several preparation threads.
class FaultInjector {
 public:
  explicit FaultInjector(std::optional<FaultSpec> spec) : spec_(std::move(spec)) {}
  // Throws the configured error if `relative_path` matches and has failed fewer than
  // `count` times at `stage`.
  void maybe_fail(std::string_view stage, const std::string& relative_path);

 private:
  std::optional<FaultSpec> spec_;
  std::mutex mutex_;
  std::map<std::string, int> raised_;
};

}  // namespace voiceman::pipeline
