#include "voiceman/writers/json_writer.h"

#include <cmath>
#include <cstdio>

namespace voiceman::writers {

nlohmann::json to_json(const Transcript& transcript) {
  nlohmann::json segments = nlohmann::json::array();
  for (const Segment& s : transcript.segments) {
    nlohmann::json seg = {{"id", s.id},
                          {"seek", s.seek},
                          {"start", s.start},
                          {"end", s.end},
                          {"text", s.text},
                          {"tokens", s.tokens},
                          {"avg_logprob", s.avg_logprob},
                          {"compression_ratio", s.compression_ratio},
                          {"no_speech_prob", s.no_speech_prob},
                          {"temperature", s.temperature}};
    if (s.speaker) seg["speaker"] = *s.speaker;
    if (!s.words.empty()) {
      nlohmann::json words = nlohmann::json::array();
      for (const Word& w : s.words) {
        nlohmann::json word = {{"word", w.word},
                               {"start", w.start},
                               {"end", w.end},
                               {"probability", w.probability},
                               {"score", w.probability}};
        if (w.speaker) word["speaker"] = *w.speaker;
        words.push_back(std::move(word));
      }
      seg["words"] = std::move(words);
    }
    segments.push_back(std::move(seg));
  }
  return {{"language", transcript.language},
          {"language_probability", transcript.language_probability},
          {"duration", transcript.duration},
          {"segments", std::move(segments)}};
}

std::string format_timestamp(double seconds, bool always_hours, char decimal) {
  const auto ms_total = static_cast<int64_t>(std::llround(std::max(0.0, seconds) * 1000.0));
  const int64_t hours = ms_total / 3600000, minutes = ms_total / 60000 % 60;
  const int64_t secs = ms_total / 1000 % 60, ms = ms_total % 1000;
  char buf[64];
  if (always_hours || hours > 0) {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs), decimal,
                  static_cast<long long>(ms));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld%c%03lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs), decimal, static_cast<long long>(ms));
  }
  return buf;
}

}  // namespace voiceman::writers
