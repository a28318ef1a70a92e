// asr::validate refuses NaN and infinities: a NaN fails no plain comparison, so each
// check must be one that NaN cannot pass.
#include "voiceman/asr/options.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "voiceman/core/errors.h"

namespace voiceman::asr {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(TranscribeOptionsValidate, NonFiniteNumbersAreRefused) {
  EXPECT_NO_THROW(validate(TranscribeOptions{}));
  const std::vector<std::pair<const char*, std::function<void(TranscribeOptions&, float)>>> fields =
      {
          {"patience", [](TranscribeOptions& o, float v) { o.patience = v; }},
          {"length_penalty", [](TranscribeOptions& o, float v) { o.length_penalty = v; }},
          {"repetition_penalty", [](TranscribeOptions& o, float v) { o.repetition_penalty = v; }},
          {"temperature",
           [](TranscribeOptions& o, float v) {
             o.temperatures = {0.f, v};
           }},
          {"compression_ratio_threshold",
           [](TranscribeOptions& o, float v) { o.compression_ratio_threshold = v; }},
          {"log_prob_threshold", [](TranscribeOptions& o, float v) { o.log_prob_threshold = v; }},
          {"no_speech_threshold", [](TranscribeOptions& o, float v) { o.no_speech_threshold = v; }},
          {"prompt_reset_on_temperature",
           [](TranscribeOptions& o, float v) { o.prompt_reset_on_temperature = v; }},
          {"max_initial_timestamp",
           [](TranscribeOptions& o, float v) { o.max_initial_timestamp = v; }},
          {"language_detection_threshold",
           [](TranscribeOptions& o, float v) { o.language_detection_threshold = v; }},
      };
  for (const auto& [name, set] : fields) {
    for (const float bad : {kNan, kInf, -kInf}) {
      TranscribeOptions o;
      set(o, bad);
      EXPECT_THROW(validate(o), ConfigError) << name << " = " << bad;
    }
    TranscribeOptions o;
    set(o, 0.5f);  // a finite value each accepts
    EXPECT_NO_THROW(validate(o)) << name;
  }
}

TEST(TranscribeOptionsValidate, UnsetThresholdsAndOrdinaryRangesStay) {
  TranscribeOptions o;
  o.compression_ratio_threshold.reset();
  o.log_prob_threshold.reset();
  o.no_speech_threshold.reset();
  EXPECT_NO_THROW(validate(o));
  o.patience = 0;
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.temperatures = {0.f, -0.2f};
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.length_penalty = -1.f;  // an exponent: any finite value
  EXPECT_NO_THROW(validate(o));
}

}  // namespace
}  // namespace voiceman::asr
