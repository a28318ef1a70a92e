#include "voiceman/decoding/segments.h"

#include <gtest/gtest.h>

namespace voiceman::decoding {
namespace {

// Expected values from faster-whisper's _split_segments_by_timestamps (faster_whisper_oracle.py),
// with seek 1234 (time_offset 12.34) and a full 3000-frame window.
constexpr int32_t kEot = 50257;
constexpr int32_t kTs = 50364;
using Tokens = std::vector<int32_t>;

std::string decode_ids(std::span<const int32_t> tokens) {
  std::string s;
  for (int32_t t : tokens) {
    EXPECT_LT(t, kEot) << "only text tokens reach decode";
    s.push_back('<');
    s.append(std::to_string(t));
    s.push_back('>');
  }
  return s;
}

SplitResult split(const Tokens& tokens) {
  return split_segments_by_timestamps(tokens, kTs, kEot, 1234 * 0.01, 3000, 3000 * 0.01, 1234,
                                      decode_ids);
}

TEST(SplitSegments, ConsecutiveTimestampsWithSingleTimestampEnding) {
  const auto r = split({kTs, 1, 2, kTs + 100, kTs + 100, 3, 4, kTs + 200});
  ASSERT_EQ(r.segments.size(), 2u);
  EXPECT_EQ(r.segments[0].start, 12.34);
  EXPECT_EQ(r.segments[0].end, 14.34);
  EXPECT_EQ(r.segments[0].tokens, (Tokens{kTs, 1, 2, kTs + 100}));
  EXPECT_EQ(r.segments[0].text, "<1><2>");
  EXPECT_EQ(r.segments[0].seek, 1234);
  EXPECT_EQ(r.segments[1].start, 14.34);
  EXPECT_EQ(r.segments[1].end, 16.34);
  EXPECT_EQ(r.segments[1].tokens, (Tokens{kTs + 100, 3, 4, kTs + 200}));
  EXPECT_TRUE(r.single_timestamp_ending);
  EXPECT_EQ(r.seek, 4234);  // the whole window is consumed
}

TEST(SplitSegments, UnfinishedLastSegmentIsDroppedAndSeekGoesBack) {
  const auto r = split({kTs, 1, 2, kTs + 100, kTs + 100, 3, 4, kTs + 200, kTs + 200, 5});
  ASSERT_EQ(r.segments.size(), 2u);
  EXPECT_EQ(r.segments[1].tokens, (Tokens{kTs + 100, 3, 4, kTs + 200}));
  EXPECT_FALSE(r.single_timestamp_ending);
  EXPECT_EQ(r.seek, 1634);  // 1234 + 200 timestamp steps * 2 frames
}

TEST(SplitSegments, SinglePairIsOneSegmentEndingAtItsTimestamp) {
  const auto r = split({kTs, 1, 2, kTs + 50});
  ASSERT_EQ(r.segments.size(), 1u);
  EXPECT_EQ(r.segments[0].start, 12.34);
  EXPECT_EQ(r.segments[0].end, 13.34);
  EXPECT_TRUE(r.single_timestamp_ending);
  EXPECT_EQ(r.seek, 4234);
}

TEST(SplitSegments, NoUsableTimestampSpansTheWindow) {
  for (const Tokens& tokens : {Tokens{1, 2, 3}, Tokens{kTs, 1, 2}, Tokens{}}) {
    const auto r = split(tokens);
    ASSERT_EQ(r.segments.size(), 1u);
    EXPECT_EQ(r.segments[0].start, 12.34);
    EXPECT_EQ(r.segments[0].end, 42.34);
    EXPECT_EQ(r.segments[0].tokens, tokens);
    EXPECT_FALSE(r.single_timestamp_ending);
    EXPECT_EQ(r.seek, 4234);
  }
}

TEST(SplitSegments, ShortWindowAdvancesBySegmentSize) {
  const auto r =
      split_segments_by_timestamps(Tokens{1, 2}, kTs, kEot, 5.0, 700, 7.0, 500, decode_ids);
  EXPECT_EQ(r.seek, 1200);
  EXPECT_EQ(r.segments[0].end, 12.0);
  EXPECT_EQ(r.segments[0].text, "<1><2>");
}

}  // namespace
}  // namespace voiceman::decoding
