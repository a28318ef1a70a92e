#include "voiceman/asr/options.h"

#include "voiceman/core/errors.h"

namespace voiceman::asr {

void validate(const TranscribeOptions& o) {
  auto fail = [](const std::string& what) { throw ConfigError("invalid option: " + what); };
  if (o.task != "transcribe" && o.task != "translate") fail("task must be transcribe or translate");
  if (o.beam_size < 1) fail("beam size must be at least 1");
  if (o.best_of < 1) fail("best-of must be at least 1");
  if (o.patience <= 0) fail("patience must be positive");
  if (o.repetition_penalty <= 0) fail("repetition penalty must be positive");
  if (o.no_repeat_ngram_size < 0) fail("no-repeat n-gram size cannot be negative");
  if (o.temperatures.empty()) fail("at least one temperature is needed");
  for (float t : o.temperatures)
    if (t < 0) fail("temperatures cannot be negative");
  if (o.max_initial_timestamp < 0) fail("max initial timestamp cannot be negative");
  if (o.max_new_tokens && *o.max_new_tokens < 1) fail("max new tokens must be at least 1");
  if (o.language_detection_segments < 1) fail("language detection segments must be at least 1");
  if (o.batch_windows < 1) fail("batch windows must be at least 1");
  if (o.language && o.language->empty()) fail("empty language code");
}

}  // namespace voiceman::asr
