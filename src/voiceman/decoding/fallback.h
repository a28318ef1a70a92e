#pragma once
// faster-whisper's temperature fallback (generate_with_fallback) and no-speech skip, as pure
// decisions on the numbers each decoding attempt produced.
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace voiceman::decoding {

struct FallbackPolicy {
  std::vector<float> temperatures = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};  // tried in order
  std::optional<double> compression_ratio_threshold = 2.4;  // above: too repetitive, retry
  std::optional<double> log_prob_threshold = -1.0;          // avg_logprob below: retry
  std::optional<double> no_speech_threshold = 0.6;          // with low logprob: silence, accept
};

// len(utf8 bytes) / len(zlib.compress(bytes)) at zlib's default level, like faster-whisper.
// faster-whisper passes the decoded text after str.strip() (see python_strip()).
double compression_ratio(std::string_view text);

// faster-whisper's recovery of the average log-prob from CTranslate2's normalized score:
// cum = score * length^length_penalty; avg = cum / (length + 1). Double math, as in Python.
double average_logprob(float score, size_t length, float length_penalty);

// One decoding attempt's numbers.
struct Attempt {
  double avg_logprob = 0;
  double compression_ratio = 0;
  float no_speech_prob = 0;
  float temperature = 0;
};

// True when the attempt should be retried at the next temperature: too repetitive or too
// improbable, unless the window looks silent (no_speech above threshold, logprob low).
bool needs_fallback(double avg_logprob, double compression_ratio, float no_speech_prob,
                    const FallbackPolicy& policy);

// Walks the temperature schedule: add() each attempt until it returns true (accepted) or the
// schedule is exhausted; then chosen() is the attempt to keep.
class FallbackSelector {
 public:
  explicit FallbackSelector(FallbackPolicy policy) : policy_(std::move(policy)) {}

  // Records an attempt; true when it is accepted and no more temperatures should be tried.
  bool add(const Attempt& attempt);

  // Index (into the attempts added) of the result to use: the accepted attempt, or when all
  // failed, the best avg_logprob among those under the compression threshold (all attempts
  // if none is), the first one on ties.
  size_t chosen() const;

  // Temperature faster-whisper reports with the result (used by prompt_reset_on_temperature):
  // the last temperature tried, even when an earlier attempt is chosen.
  float final_temperature() const;

  const std::vector<Attempt>& attempts() const { return attempts_; }

 private:
  FallbackPolicy policy_;
  std::vector<Attempt> attempts_;
  std::vector<size_t> below_threshold_;
  std::optional<size_t> accepted_;
};

// generate_segments' no-voice check: skip the window when no_speech_prob is above the
// threshold, unless avg_logprob is above log_prob_threshold.
bool should_skip_window(float no_speech_prob, double avg_logprob, const FallbackPolicy& policy);

}  // namespace voiceman::decoding
