#pragma once
// faster-whisper's _split_segments_by_timestamps: cuts one window's output tokens into
// segments at timestamp tokens and says where the next window starts.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace voiceman::decoding {

inline constexpr double kTimePrecision = 0.02;  // seconds per timestamp token
inline constexpr int kInputStride = 2;          // mel frames per timestamp token

struct SegmentTokens {
  int seek = 0;                 // the window's seek (mel frames), as given
  double start = 0;             // seconds
  double end = 0;               // seconds
  std::vector<int32_t> tokens;  // the slice, timestamps included
  std::string text;             // decode() of the slice's text tokens (< eot)
};

struct SplitResult {
  std::vector<SegmentTokens> segments;
  int seek = 0;  // seek of the next window
  bool single_timestamp_ending = false;
};

// Decodes text tokens only; the tokenizer module provides it.
using DecodeFn = std::function<std::string(std::span<const int32_t>)>;

// tokens: the window's output (no prompt, no eot). time_offset = seek * 0.01 s;
// segment_size: content frames in the window; segment_duration = segment_size * 0.01 s.
SplitResult split_segments_by_timestamps(std::span<const int32_t> tokens, int32_t timestamp_begin,
                                         int32_t eot, double time_offset, int segment_size,
                                         double segment_duration, int seek, const DecodeFn& decode);

}  // namespace voiceman::decoding
