#include "voiceman/vad/speech.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "voiceman/core/errors.h"

namespace voiceman::vad {

namespace {

int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }  // Python's v // 2

// The hysteresis state machine over frames; regions come out unpadded.
std::vector<SpeechRegion> raw_regions(std::span<const float> probs, int64_t n_samples,
                                      const VadOptions& o, int sr) {
  const double min_speech = sr * o.min_speech_duration_ms / 1000.0;
  const double pad = sr * o.speech_pad_ms / 1000.0;
  const double max_speech = sr * o.max_speech_duration_s - kFrameSamples - 2 * pad;
  const double min_silence = sr * o.min_silence_duration_ms / 1000.0;
  // A split for max length prefers a pause of at least 98 ms.
  const double min_silence_at_max_speech = sr * 98 / 1000.0;
  const float on = o.threshold, off = o.negative_threshold();

  std::vector<SpeechRegion> out;
  bool triggered = false;
  bool open = false;  // a region has a start (faster-whisper's non-empty current_speech)
  SpeechRegion cur;
  int64_t temp_end = 0, prev_end = 0, next_start = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const float p = probs[i];
    const int64_t pos = kFrameSamples * static_cast<int64_t>(i);
    if (p >= on && temp_end) {
      temp_end = 0;
      if (next_start < prev_end) next_start = pos;
    }
    if (p >= on && !triggered) {
      triggered = true;
      cur.start = pos;
      open = true;
      continue;
    }
    if (triggered && pos - cur.start > max_speech) {
      if (prev_end) {
        out.push_back({cur.start, prev_end});
        open = false;
        // Still silent since that pause (next_start not moved past it): wait for speech.
        if (next_start < prev_end) {
          triggered = false;
        } else {
          cur.start = next_start;
          open = true;
        }
        prev_end = next_start = temp_end = 0;
      } else {
        out.push_back({cur.start, pos});
        open = false;
        prev_end = next_start = temp_end = 0;
        triggered = false;
        continue;
      }
    }
    if (p < off && triggered) {
      if (!temp_end) temp_end = pos;
      if (pos - temp_end > min_silence_at_max_speech) prev_end = temp_end;
      if (pos - temp_end < min_silence) continue;
      if (temp_end - cur.start > min_speech) out.push_back({cur.start, temp_end});
      open = false;
      prev_end = next_start = temp_end = 0;
      triggered = false;
      continue;
    }
  }
  if (open && n_samples - cur.start > min_speech) out.push_back({cur.start, n_samples});
  return out;
}

}  // namespace

std::vector<SpeechRegion> speech_timestamps(std::span<const float> probs, int64_t n_samples,
                                            const VadOptions& options, int sample_rate) {
  validate(options);
  std::vector<SpeechRegion> s = raw_regions(probs, n_samples, options, sample_rate);
  const double pad = sample_rate * options.speech_pad_ms / 1000.0;
  // Pad each side; a pause shorter than two paddings is shared out between its neighbours.
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 0) s[i].start = static_cast<int64_t>(std::max(0.0, s[i].start - pad));
    if (i + 1 < s.size()) {
      const int64_t silence = s[i + 1].start - s[i].end;
      if (silence < 2 * pad) {
        s[i].end += floor_div2(silence);
        s[i + 1].start = std::max<int64_t>(0, s[i + 1].start - floor_div2(silence));
      } else {
        s[i].end = static_cast<int64_t>(std::min<double>(n_samples, s[i].end + pad));
        s[i + 1].start = static_cast<int64_t>(std::max(0.0, s[i + 1].start - pad));
      }
    } else {
      s[i].end = static_cast<int64_t>(std::min<double>(n_samples, s[i].end + pad));
    }
  }
  return s;
}

std::vector<SpeechChunk> collect_chunks(std::span<const SpeechRegion> regions, int sample_rate,
                                        double max_duration_s) {
  if (!(max_duration_s > 0)) throw ConfigError("collect_chunks: max_duration_s must be > 0");
  const double limit = max_duration_s * sample_rate;
  std::vector<SpeechChunk> chunks;
  SpeechChunk cur;
  auto close = [&] {
    cur.offset_s = static_cast<double>(cur.offset_samples) / sample_rate;
    cur.duration_s = static_cast<double>(cur.duration_samples) / sample_rate;
    const int64_t next_offset = cur.offset_samples + cur.duration_samples;
    if (!cur.regions.empty()) chunks.push_back(std::move(cur));
    cur = SpeechChunk{};
    cur.offset_samples = next_offset;
  };
  for (const SpeechRegion& r : regions) {
    const int64_t len = r.end - r.start;
    if (static_cast<double>(cur.duration_samples + len) > limit) close();
    cur.regions.push_back(r);
    cur.duration_samples += len;
  }
  close();
  return chunks;
}

std::vector<SpeechChunk> span_chunks(std::span<const SpeechRegion> regions, int sample_rate,
                                     double max_duration_s) {
  if (!(max_duration_s > 0)) throw ConfigError("span_chunks: max_duration_s must be > 0");
  const auto limit = static_cast<int64_t>(max_duration_s * sample_rate);
  std::vector<SpeechChunk> chunks;
  for (const SpeechRegion& r : regions) {
    if (chunks.empty() || r.end - chunks.back().offset_samples > limit) {
      chunks.emplace_back();
      chunks.back().offset_samples = r.start;
    }
    SpeechChunk& c = chunks.back();
    c.regions.push_back(r);
    c.duration_samples = r.end - c.offset_samples;
  }
  for (SpeechChunk& c : chunks) {
    c.offset_s = static_cast<double>(c.offset_samples) / sample_rate;
    c.duration_s = static_cast<double>(c.duration_samples) / sample_rate;
  }
  return chunks;
}

SpeechTimeline::SpeechTimeline(std::span<const SpeechRegion> regions, int sample_rate,
                               int precision)
    : sample_rate_(sample_rate), precision_(precision) {
  int64_t previous_end = 0, silent = 0;
  for (const SpeechRegion& r : regions) {
    silent += r.start - previous_end;
    previous_end = r.end;
    region_end_.push_back(r.end - silent);
    silence_before_.push_back(static_cast<double>(silent) / sample_rate);
  }
}

int SpeechTimeline::region_index(double time, bool is_end) const {
  if (region_end_.empty()) throw Error("SpeechTimeline: no speech regions");
  const auto sample = static_cast<int64_t>(time * sample_rate_);
  if (is_end) {
    const auto it = std::find(region_end_.begin(), region_end_.end(), sample);
    if (it != region_end_.end()) return static_cast<int>(it - region_end_.begin());
  }
  const auto after = std::upper_bound(region_end_.begin(), region_end_.end(), sample);
  return static_cast<int>(
      std::min<int64_t>(after - region_end_.begin(), static_cast<int64_t>(region_end_.size()) - 1));
}

double SpeechTimeline::original_time(double time, std::optional<int> region, bool is_end) const {
  const int index = region ? *region : region_index(time, is_end);
  if (index < 0 || index >= static_cast<int>(silence_before_.size()))
    throw Error("SpeechTimeline: region index out of range");
  // Correctly rounded decimal formatting: the same result as Python's round(x, n).
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", precision_, silence_before_[index] + time);
  return std::strtod(text, nullptr);
}

}  // namespace voiceman::vad
