#include "voiceman/vad/options.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "voiceman/core/errors.h"

namespace voiceman::vad {

float VadOptions::negative_threshold() const {
  return neg_threshold ? *neg_threshold : std::max(threshold - 0.15f, 0.01f);
}

void validate(const VadOptions& o) {
  auto fail = [](const std::string& what) { throw ConfigError("VAD options: " + what); };
  if (!(o.threshold > 0.f && o.threshold < 1.f)) fail("threshold must be in (0, 1)");
  if (o.neg_threshold && !(*o.neg_threshold >= 0.f && *o.neg_threshold <= o.threshold))
    fail("neg_threshold must be in [0, threshold]");
  if (o.min_speech_duration_ms < 0) fail("min_speech_duration_ms must be >= 0");
  if (o.min_silence_duration_ms < 0) fail("min_silence_duration_ms must be >= 0");
  if (o.speech_pad_ms < 0) fail("speech_pad_ms must be >= 0");
  // A region must hold at least one 512-sample frame after the padding is taken off.
  if (std::isnan(o.max_speech_duration_s) ||
      o.max_speech_duration_s * 1000 <= 32 + 2.0 * o.speech_pad_ms)
    fail("max_speech_duration_s must exceed 32 ms + 2 * speech_pad_ms");
}

nlohmann::json to_json(const VadOptions& o) {
  nlohmann::json j = {{"threshold", o.threshold},
                      {"neg_threshold", o.negative_threshold()},
                      {"min_speech_duration_ms", o.min_speech_duration_ms},
                      {"min_silence_duration_ms", o.min_silence_duration_ms},
                      {"speech_pad_ms", o.speech_pad_ms}};
  // JSON has no infinity: null means unlimited.
  if (std::isinf(o.max_speech_duration_s))
    j["max_speech_duration_s"] = nullptr;
  else
    j["max_speech_duration_s"] = o.max_speech_duration_s;
  return j;
}

}  // namespace voiceman::vad
