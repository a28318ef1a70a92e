#include "voiceman/asr/options.h"

#include <cmath>

#include "voiceman/core/errors.h"

namespace voiceman::asr {

// Checks are written so that NaN fails them: every comparison with NaN is false.
void validate(const TranscribeOptions& o) {
  auto fail = [](const std::string& what) { throw ConfigError("invalid option: " + what); };
  auto finite = [&](float value, const char* what) {
    if (!std::isfinite(value)) fail(std::string(what) + " must be a finite number");
  };
  if (o.task != "transcribe" && o.task != "translate") fail("task must be transcribe or translate");
  if (o.beam_size < 1) fail("beam size must be at least 1");
  if (o.best_of < 1) fail("best-of must be at least 1");
  finite(o.patience, "patience");
  if (!(o.patience > 0)) fail("patience must be positive");
  finite(o.length_penalty, "length penalty");
  finite(o.repetition_penalty, "repetition penalty");
  if (!(o.repetition_penalty > 0)) fail("repetition penalty must be positive");
  if (o.no_repeat_ngram_size < 0) fail("no-repeat n-gram size cannot be negative");
  if (o.temperatures.empty()) fail("at least one temperature is needed");
  for (float t : o.temperatures) {
    finite(t, "temperatures");
    if (!(t >= 0)) fail("temperatures cannot be negative");
  }
  // Unset disables a threshold; a set one must be a number the comparisons can use.
  if (o.compression_ratio_threshold)
    finite(*o.compression_ratio_threshold, "compression ratio threshold");
  if (o.log_prob_threshold) finite(*o.log_prob_threshold, "log prob threshold");
  if (o.no_speech_threshold) finite(*o.no_speech_threshold, "no speech threshold");
  finite(o.prompt_reset_on_temperature, "prompt reset on temperature");
  finite(o.max_initial_timestamp, "max initial timestamp");
  if (!(o.max_initial_timestamp >= 0)) fail("max initial timestamp cannot be negative");
  if (o.max_new_tokens && *o.max_new_tokens < 1) fail("max new tokens must be at least 1");
  finite(o.language_detection_threshold, "language detection threshold");
  if (o.language_detection_segments < 1) fail("language detection segments must be at least 1");
  if (o.batch_windows < 1) fail("batch windows must be at least 1");
  if (o.language && o.language->empty()) fail("empty language code");
}

}  // namespace voiceman::asr
