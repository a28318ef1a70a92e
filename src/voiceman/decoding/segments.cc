#include "voiceman/decoding/segments.h"

namespace voiceman::decoding {

namespace {

SegmentTokens make_segment(std::span<const int32_t> tokens, int seek, double start, double end,
                           int32_t eot, const DecodeFn& decode) {
  SegmentTokens s;
  s.seek = seek;
  s.start = start;
  s.end = end;
  s.tokens.assign(tokens.begin(), tokens.end());
  std::vector<int32_t> text;
  for (int32_t t : tokens) {
    if (t < eot) text.push_back(t);
  }
  s.text = decode ? decode(text) : std::string();
  return s;
}

}  // namespace

SplitResult split_segments_by_timestamps(std::span<const int32_t> tokens, int32_t timestamp_begin,
                                         int32_t eot, double time_offset, int segment_size,
                                         double segment_duration, int seek,
                                         const DecodeFn& decode) {
  SplitResult out;
  const size_t n = tokens.size();
  const auto is_ts = [&](size_t i) { return tokens[i] >= timestamp_begin; };
  out.single_timestamp_ending = n >= 2 && !is_ts(n - 2) && is_ts(n - 1);

  // Positions that start a new segment: a timestamp right after another timestamp.
  std::vector<size_t> slices;
  for (size_t i = 1; i < n; ++i) {
    if (is_ts(i) && is_ts(i - 1)) slices.push_back(i);
  }

  if (!slices.empty()) {
    if (out.single_timestamp_ending) slices.push_back(n);
    size_t last_slice = 0;
    for (size_t cut : slices) {
      const auto sliced = tokens.subspan(last_slice, cut - last_slice);
      const double start = time_offset + (sliced.front() - timestamp_begin) * kTimePrecision;
      const double end = time_offset + (sliced.back() - timestamp_begin) * kTimePrecision;
      out.segments.push_back(make_segment(sliced, seek, start, end, eot, decode));
      last_slice = cut;
    }
    if (out.single_timestamp_ending) {
      out.seek = seek + segment_size;  // no speech after the last timestamp
    } else {
      // Drop the unfinished segment: the next window starts at the last closed timestamp.
      const int last_position = tokens[last_slice - 1] - timestamp_begin;
      out.seek = seek + last_position * kInputStride;
    }
  } else {
    double duration = segment_duration;
    const int32_t* last_ts = nullptr;
    for (const int32_t& t : tokens) {
      if (t >= timestamp_begin) last_ts = &t;
    }
    if (last_ts != nullptr && *last_ts != timestamp_begin) {
      duration = (*last_ts - timestamp_begin) * kTimePrecision;
    }
    out.segments.push_back(
        make_segment(tokens, seek, time_offset, time_offset + duration, eot, decode));
    out.seek = seek + segment_size;
  }
  return out;
}

}  // namespace voiceman::decoding
