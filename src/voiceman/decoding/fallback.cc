#include "voiceman/decoding/fallback.h"

#include <zlib.h>

#include <cmath>
#include <vector>

#include "voiceman/core/errors.h"

namespace voiceman::decoding {

double compression_ratio(std::string_view text) {
  const auto* src = reinterpret_cast<const Bytef*>(text.data());
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> out(size);
  // compress2 uses the same zlib stream settings as Python's zlib.compress (wbits 15, memLevel 8).
  const int rc =
      compress2(out.data(), &size, src, static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK) throw Error("zlib compress2 failed");
  return double(text.size()) / double(size);
}

double average_logprob(float score, size_t length, float length_penalty) {
  const double len = double(length);
  const double cum = double(score) * std::pow(len, double(length_penalty));
  return cum / (len + 1);
}

bool needs_fallback(double avg_logprob, double compression_ratio, float no_speech_prob,
                    const FallbackPolicy& policy) {
  bool fallback = false;
  if (policy.compression_ratio_threshold && compression_ratio > *policy.compression_ratio_threshold)
    fallback = true;  // too repetitive
  if (policy.log_prob_threshold && avg_logprob < *policy.log_prob_threshold)
    fallback = true;  // average log probability too low
  if (policy.no_speech_threshold && no_speech_prob > *policy.no_speech_threshold &&
      policy.log_prob_threshold && avg_logprob < *policy.log_prob_threshold)
    fallback = false;  // silence: a better decode would not help
  return fallback;
}

bool FallbackSelector::add(const Attempt& attempt) {
  if (accepted_) throw Error("FallbackSelector::add after an attempt was accepted");
  attempts_.push_back(attempt);
  const size_t index = attempts_.size() - 1;
  if (policy_.compression_ratio_threshold &&
      !(attempt.compression_ratio > *policy_.compression_ratio_threshold)) {
    below_threshold_.push_back(index);
  }
  if (!needs_fallback(attempt.avg_logprob, attempt.compression_ratio, attempt.no_speech_prob,
                      policy_)) {
    accepted_ = index;
    return true;
  }
  return false;
}

size_t FallbackSelector::chosen() const {
  if (attempts_.empty()) throw Error("FallbackSelector::chosen before any attempt");
  if (accepted_) return *accepted_;
  std::vector<size_t> pool = below_threshold_;
  if (pool.empty()) {
    for (size_t i = 0; i < attempts_.size(); ++i) pool.push_back(i);
  }
  // Python's max() keeps the first maximum; NaN never compares greater.
  size_t best = pool.front();
  for (size_t i : pool) {
    if (attempts_[i].avg_logprob > attempts_[best].avg_logprob) best = i;
  }
  return best;
}

float FallbackSelector::final_temperature() const {
  if (attempts_.empty()) throw Error("FallbackSelector::final_temperature before any attempt");
  return attempts_.back().temperature;
}

bool should_skip_window(float no_speech_prob, double avg_logprob, const FallbackPolicy& policy) {
  if (!policy.no_speech_threshold) return false;
  bool skip = no_speech_prob > *policy.no_speech_threshold;
  if (policy.log_prob_threshold && avg_logprob > *policy.log_prob_threshold) skip = false;
  return skip;
}

}  // namespace voiceman::decoding
