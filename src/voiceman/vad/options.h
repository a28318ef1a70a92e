#pragma once
// Options of the speech detector: faster-whisper 1.2.1's VadOptions, same fields and
// defaults (the defaults of WhisperModel.transcribe's vad_filter).
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

namespace voiceman::vad {

struct VadOptions {
  float threshold = 0.5f;              // a frame with probability >= threshold is speech
  std::optional<float> neg_threshold;  // below it a frame is silence; default threshold - 0.15
  int min_speech_duration_ms = 0;      // shorter regions are dropped
  double max_speech_duration_s = std::numeric_limits<double>::infinity();  // longer are split
  int min_silence_duration_ms = 2000;  // silence needed to end a region
  int speech_pad_ms = 400;             // padding added on both sides of each region

  // The effective silence threshold: neg_threshold, or max(threshold - 0.15, 0.01).
  float negative_threshold() const;
};

// Throws ConfigError naming the offending field.
void validate(const VadOptions& options);
nlohmann::json to_json(const VadOptions& options);

}  // namespace voiceman::vad
