#pragma once
// Speech regions from per-frame probabilities, their grouping into chunks of bounded
// length, and the mapping from time in a chunk's concatenated speech back to the
// recording: faster-whisper 1.2.1's get_speech_timestamps, collect_chunks and
// SpeechTimestampsMap, written from their algorithms. Time is in samples until the edges.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "voiceman/vad/options.h"

namespace voiceman::vad {

constexpr int64_t kFrameSamples = 512;  // samples per probability (Silero at 16 kHz)

struct SpeechRegion {
  int64_t start = 0;  // samples, inclusive
  int64_t end = 0;    // samples, exclusive
  bool operator==(const SpeechRegion&) const = default;
};

// probs[i] is the speech probability of samples [512 i, 512 (i + 1)); n_samples is the
// recording's length. Regions are padded, merged across short pauses and split past
// max_speech_duration_s exactly as get_speech_timestamps does.
std::vector<SpeechRegion> speech_timestamps(std::span<const float> probs, int64_t n_samples,
                                            const VadOptions& options, int sample_rate = 16000);

// Consecutive regions whose total length stays within max_duration_s; the speech of a
// chunk is its regions' audio concatenated. offset is the chunk's start in the
// concatenation of all speech (what collect_chunks reports). Empty chunks are not
// returned (collect_chunks yields one when there is no speech, or when a single region
// is longer than max_duration_s: it then opens with an empty chunk).
struct SpeechChunk {
  std::vector<SpeechRegion> regions;
  int64_t offset_samples = 0;
  int64_t duration_samples = 0;
  double offset_s = 0;
  double duration_s = 0;
};
std::vector<SpeechChunk> collect_chunks(std::span<const SpeechRegion> regions,
                                        int sample_rate = 16000, double max_duration_s = 30.0);

// Consecutive regions grouped into spans of the recording of at most max_duration_s,
// from the first region's start to the last one's end, pauses included (how WhisperX
// merges VAD segments). offset is the span's start in the recording, so times inside a
// span need no mapping; a span's audio is the recording between offset and
// offset + duration. A single region longer than the limit (only with an unbounded
// max_speech_duration_s) becomes a span of its own.
std::vector<SpeechChunk> span_chunks(std::span<const SpeechRegion> regions, int sample_rate = 16000,
                                     double max_duration_s = 30.0);

// Maps a time in the concatenated speech of `regions` back to the recording
// (SpeechTimestampsMap): the silence removed before the region is added back, and the
// result is rounded to `precision` decimals like Python's round().
class SpeechTimeline {
 public:
  SpeechTimeline(std::span<const SpeechRegion> regions, int sample_rate = 16000, int precision = 2);
  // The region a time in the concatenated speech falls in. A time exactly at a region's
  // end belongs to that region when is_end, else to the next one.
  int region_index(double time, bool is_end = false) const;
  double original_time(double time, std::optional<int> region = std::nullopt,
                       bool is_end = false) const;

 private:
  int sample_rate_;
  int precision_;
  std::vector<int64_t> region_end_;     // region ends in concatenated-speech samples
  std::vector<double> silence_before_;  // seconds removed before each region
};

}  // namespace voiceman::vad
