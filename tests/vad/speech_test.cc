// Region logic, chunk grouping and time mapping on hand-made inputs. The expected
// regions were worked out by hand from the algorithm and agree with faster-whisper
// 1.2.1's get_speech_timestamps fed the same probabilities.
#include "voiceman/vad/speech.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/vad/options.h"

namespace voiceman::vad {
namespace {

constexpr int64_t F = kFrameSamples;

// Runs of (count, probability) -> per-frame probabilities.
std::vector<float> frames(std::initializer_list<std::pair<int, float>> runs) {
  std::vector<float> p;
  for (auto [n, v] : runs) p.insert(p.end(), n, v);
  return p;
}

using Regions = std::vector<SpeechRegion>;

TEST(SpeechTimestamps, DefaultsPadAndClampToTheRecording) {
  // Speech in frames 10..29: [5120, 15360) padded by 400 ms (6400 samples).
  const auto p = frames({{10, 0.f}, {20, 0.9f}, {100, 0.f}});
  EXPECT_EQ(speech_timestamps(p, 130 * F, {}), (Regions{{0, 21760}}));
}

TEST(SpeechTimestamps, ShortPauseMergesLongPauseSplits) {
  const auto p = frames({{10, 0.f}, {20, 0.9f}, {20, 0.f}, {20, 0.9f}, {100, 0.f}});
  // 20 silent frames (640 ms) are less than the default 2000 ms: one region.
  EXPECT_EQ(speech_timestamps(p, 170 * F, {}), (Regions{{0, 42240}}));
  // With 160 ms, two regions; their 640 ms gap is under two paddings and is shared out.
  VadOptions o;
  o.min_silence_duration_ms = 160;
  EXPECT_EQ(speech_timestamps(p, 170 * F, o), (Regions{{0, 20480}, {20480, 42240}}));
}

TEST(SpeechTimestamps, PaddingOnBothSides) {
  const auto p = frames({{10, 0.f}, {20, 0.9f}, {8, 0.f}, {20, 0.9f}, {30, 0.f}});
  VadOptions o;
  o.min_silence_duration_ms = 100;
  o.speech_pad_ms = 200;
  EXPECT_EQ(speech_timestamps(p, 88 * F, o), (Regions{{1920, 17408}, {17408, 32896}}));
}

TEST(SpeechTimestamps, NegThresholdHysteresis) {
  // 0.4 is under the threshold but above the default neg_threshold 0.35: speech goes on.
  const auto p = frames({{5, 0.f}, {10, 0.9f}, {10, 0.4f}, {5, 0.9f}, {40, 0.f}});
  VadOptions o;
  o.min_silence_duration_ms = 100;
  o.speech_pad_ms = 0;
  EXPECT_FLOAT_EQ(o.negative_threshold(), 0.35f);
  EXPECT_EQ(speech_timestamps(p, 70 * F, o), (Regions{{2560, 15360}}));
  o.neg_threshold = 0.45f;  // now 0.4 is silence
  EXPECT_EQ(speech_timestamps(p, 70 * F, o), (Regions{{2560, 7680}, {12800, 15360}}));
  VadOptions low;
  low.threshold = 0.1f;
  EXPECT_FLOAT_EQ(low.negative_threshold(), 0.01f);
}

TEST(SpeechTimestamps, MinSpeechDurationDropsShortRegions) {
  const auto p = frames({{5, 0.f}, {3, 0.9f}, {20, 0.f}, {20, 0.9f}, {40, 0.f}});
  VadOptions o;
  o.min_silence_duration_ms = 100;
  o.speech_pad_ms = 0;
  o.min_speech_duration_ms = 250;
  EXPECT_EQ(speech_timestamps(p, 88 * F, o), (Regions{{14336, 24576}}));
}

TEST(SpeechTimestamps, SpeechRunningToTheEndEndsAtTheLastSample) {
  const auto p = frames({{5, 0.f}, {20, 0.9f}});
  VadOptions o;
  o.speech_pad_ms = 100;
  EXPECT_EQ(speech_timestamps(p, 25 * F - 100, o), (Regions{{960, 12700}}));
}

TEST(SpeechTimestamps, MaxDurationSplits) {
  VadOptions o;
  o.speech_pad_ms = 0;
  o.max_speech_duration_s = 1.0;
  // No pause at all: cut aggressively every 31 frames.
  EXPECT_EQ(speech_timestamps(frames({{100, 0.9f}}), 100 * F, o),
            (Regions{{0, 15872}, {16384, 32256}, {32768, 48640}, {49152, 51200}}));
  // A 160 ms pause (> 98 ms) before the limit: cut there, resume where speech resumed.
  o.max_speech_duration_s = 1.5;
  EXPECT_EQ(speech_timestamps(frames({{30, 0.9f}, {5, 0.2f}, {40, 0.9f}}), 75 * F, o),
            (Regions{{0, 15360}, {17920, 38400}}));
}

TEST(SpeechTimestamps, NoSpeechAndInvalidOptions) {
  EXPECT_TRUE(speech_timestamps(frames({{50, 0.1f}}), 50 * F, {}).empty());
  VadOptions o;
  o.threshold = 1.5f;
  EXPECT_THROW(speech_timestamps(frames({{5, 0.9f}}), 5 * F, o), ConfigError);
  o = {};
  o.speech_pad_ms = -1;
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.max_speech_duration_s = 0.5;  // not more than 2 paddings + one frame
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.neg_threshold = 0.7f;
  EXPECT_THROW(validate(o), ConfigError);
}

TEST(CollectChunks, GroupsRegionsUpToTheMaximum) {
  const Regions r{{0, 100}, {200, 400}, {500, 900}, {1000, 1050}};
  const auto chunks = collect_chunks(r, 1000, 0.5);  // 500 samples per chunk at most
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].regions, (Regions{{0, 100}, {200, 400}}));
  EXPECT_EQ(chunks[0].offset_samples, 0);
  EXPECT_EQ(chunks[0].duration_samples, 300);
  EXPECT_DOUBLE_EQ(chunks[0].duration_s, 0.3);
  EXPECT_EQ(chunks[1].regions, (Regions{{500, 900}, {1000, 1050}}));
  EXPECT_EQ(chunks[1].offset_samples, 300);
  EXPECT_DOUBLE_EQ(chunks[1].offset_s, 0.3);
  EXPECT_DOUBLE_EQ(chunks[1].duration_s, 0.45);
  // Exactly at the maximum still fits (the test is "more than").
  EXPECT_EQ(collect_chunks(Regions{{0, 250}, {300, 550}}, 1000, 0.5).size(), 1u);
}

TEST(CollectChunks, OversizedRegionGetsItsOwnChunkAndNoSpeechGivesNone) {
  const auto chunks = collect_chunks(Regions{{0, 800}, {900, 1000}}, 1000, 0.5);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].regions, (Regions{{0, 800}}));
  EXPECT_EQ(chunks[1].offset_samples, 800);
  EXPECT_TRUE(collect_chunks(Regions{}, 16000, 30).empty());
  EXPECT_THROW(collect_chunks(Regions{}, 16000, 0), ConfigError);
}

TEST(SpanChunks, SpansKeepThePausesAndStayWithinTheMaximum) {
  const Regions r{{100, 200}, {300, 450}, {500, 700}, {900, 950}, {2000, 2100}};
  const auto chunks = span_chunks(r, 1000, 0.5);  // spans of at most 500 samples
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].regions, (Regions{{100, 200}, {300, 450}}));
  EXPECT_EQ(chunks[0].offset_samples, 100);    // the recording's time, not the speech's
  EXPECT_EQ(chunks[0].duration_samples, 350);  // the pause 200..300 is inside
  EXPECT_EQ(chunks[1].regions, (Regions{{500, 700}, {900, 950}}));
  EXPECT_DOUBLE_EQ(chunks[1].offset_s, 0.5);
  EXPECT_DOUBLE_EQ(chunks[1].duration_s, 0.45);  // 500..950: exactly within 500 samples
  EXPECT_EQ(chunks[2].offset_samples, 2000);
  for (const auto& c : chunks) EXPECT_LE(c.duration_samples, 500);
  EXPECT_TRUE(span_chunks(Regions{}, 16000, 30).empty());
  EXPECT_THROW(span_chunks(r, 16000, 0), ConfigError);
  // A region longer than the limit is a span of its own.
  EXPECT_EQ(span_chunks(Regions{{0, 800}, {900, 1000}}, 1000, 0.5).size(), 2u);
}

TEST(SpeechTimeline, MapsConcatenatedSpeechBackToTheRecording) {
  // 1 s of silence removed before the first region, 2 s before the second.
  const Regions r{{1000, 2000}, {3000, 5000}};
  const SpeechTimeline tl(r, 1000);
  EXPECT_EQ(tl.region_index(0.5), 0);
  EXPECT_DOUBLE_EQ(tl.original_time(0.5), 1.5);
  // At a region's end: the next region, unless it is an end time.
  EXPECT_EQ(tl.region_index(1.0), 1);
  EXPECT_DOUBLE_EQ(tl.original_time(1.0), 3.0);
  EXPECT_DOUBLE_EQ(tl.original_time(1.0, std::nullopt, true), 2.0);
  EXPECT_DOUBLE_EQ(tl.original_time(1.0, 0), 2.0);
  // Past the end: the last region.
  EXPECT_EQ(tl.region_index(9.0), 1);
  EXPECT_DOUBLE_EQ(tl.original_time(5.0), 7.0);
  // Python's round(): 1.125 is exact, and rounds half to even.
  EXPECT_DOUBLE_EQ(tl.original_time(0.125), 1.12);
  EXPECT_DOUBLE_EQ(tl.original_time(0.3333), 1.33);
  EXPECT_THROW(tl.original_time(0.5, 2), Error);
  EXPECT_THROW(SpeechTimeline(Regions{}).region_index(0.0), Error);
}

TEST(VadOptionsJson, RecordsEffectiveValues) {
  VadOptions o;
  const auto j = to_json(o);
  EXPECT_TRUE(j["max_speech_duration_s"].is_null());
  EXPECT_NEAR(j["neg_threshold"].get<double>(), 0.35, 1e-6);
  o.max_speech_duration_s = 30;
  EXPECT_EQ(to_json(o)["max_speech_duration_s"].get<double>(), 30.0);
}

}  // namespace
}  // namespace voiceman::vad
