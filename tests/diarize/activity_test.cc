#include "voiceman/diarize/activity.h"

#include <gtest/gtest.h>

#include "voiceman/core/errors.h"
#include "voiceman/diarize/turns.h"

namespace voiceman::diarize {
namespace {

std::vector<float> column(const Array3& x, int i, int k) {
  std::vector<float> out;
  for (int j = 0; j < x.b; ++j) out.push_back(x.at(i, j, k));
  return out;
}

TEST(SlidingWindows, LastWindowReachesTheEnd) {
  EXPECT_EQ(SlidingWindows::make(100, 40, 20).count, 4);  // 0, 20, 40, 60 (60..100)
  EXPECT_EQ(SlidingWindows::make(101, 40, 20).count, 5);  // 80..120 padded
  EXPECT_EQ(SlidingWindows::make(30, 40, 20).count, 1);   // shorter than a window
  EXPECT_EQ(SlidingWindows::make(0, 40, 20).count, 0);
  EXPECT_EQ(SlidingWindows::make(101, 40, 20).start(4), 80);
  EXPECT_THROW(SlidingWindows::make(10, 40, 0), Error);
}

TEST(FrameTiming, OffsetsAndFrameCount) {
  const FrameTiming t{0.0, 0.1, 0.1};
  EXPECT_EQ(t.offset_of(0.5), 5);
  EXPECT_EQ(t.offset_of(0.54), 5);
  EXPECT_EQ(t.offset_of(0.56), 6);
  EXPECT_NEAR(t.center_s(3), 0.35, 1e-12);
  EXPECT_EQ(t.frames_in(1.0), 10);   // centres 0.05 .. 0.95
  EXPECT_EQ(t.frames_in(1.02), 10);  // 1.05 is past the end
  EXPECT_EQ(t.frames_in(0.0), 1);
}

TEST(Binarize, HysteresisKeepsSpeechThroughDipsAboveOffset) {
  Array3 s(1, 8, 1);
  const float track[8] = {0.2f, 0.6f, 0.45f, 0.41f, 0.35f, 0.45f, 0.55f, 0.1f};
  for (int f = 0; f < 8; ++f) s.at(0, f, 0) = track[f];
  // on above 0.5, off only below 0.4: the dips to 0.45/0.41 keep it on, 0.45 after the
  // drop to 0.35 does not switch it back on.
  EXPECT_EQ(column(binarize(s, 0.5, 0.4), 0, 0), (std::vector<float>{0, 1, 1, 1, 0, 0, 1, 0}));
  // Without hysteresis (offset = onset) the dips end the speech.
  EXPECT_EQ(column(binarize(s, 0.5, 0.5), 0, 0), (std::vector<float>{0, 1, 0, 0, 0, 0, 1, 0}));
}

TEST(Aggregate, OverlapAddAveragesCoveredFrames) {
  // Two windows of 4 frames, the second starting 2 frames later; one speaker.
  Array3 w(2, 4, 1);
  const float a[4] = {1, 1, 0, 0}, b[4] = {1, 1, 1, 1};
  for (int f = 0; f < 4; ++f) w.at(0, f, 0) = a[f], w.at(1, f, 0) = b[f];
  const Array3 mean = aggregate(w, {0, 2}, 6, true);
  EXPECT_EQ(column(mean, 0, 0), (std::vector<float>{1, 1, 0.5f, 0.5f, 1, 1}));
  const Array3 sum = aggregate(w, {0, 2}, 6, false);
  EXPECT_EQ(column(sum, 0, 0), (std::vector<float>{1, 1, 1, 1, 1, 1}));
  // Frames past the end of the recording are dropped; excluded windows do not count.
  EXPECT_EQ(column(aggregate(w, {0, 2}, 5, true), 0, 0), (std::vector<float>{1, 1, 0.5f, 0.5f, 1}));
  EXPECT_EQ(column(aggregate(w, {0, 2}, 6, true, {false, true}), 0, 0),
            (std::vector<float>{0, 0, 1, 1, 1, 1}));
  EXPECT_THROW(aggregate(w, {0}, 6, true), Error);
}

TEST(SpeakerCount, RoundedWindowAverageOfActiveLocalSpeakers) {
  // Window 0 hears two speakers on frames 2-3, window 1 (offset 2) one speaker everywhere.
  Array3 bin(2, 4, 2);
  for (int f = 0; f < 4; ++f) bin.at(0, f, 0) = 1, bin.at(1, f, 1) = 1;
  bin.at(0, 2, 1) = bin.at(0, 3, 1) = 1;
  bin.at(1, 0, 0) = bin.at(1, 1, 0) = 1;  // and agrees on the overlap
  EXPECT_EQ(speaker_count(bin, {0, 2}, 6), (std::vector<int>{1, 1, 2, 2, 1, 1}));
  EXPECT_EQ(speaker_count(bin, {0, 2}, 6, 1), (std::vector<int>{1, 1, 1, 1, 1, 1}));
  bin.at(1, 0, 0) = 0;  // (2 + 1) / 2 = 1.5: halves round down, a tie adds no speaker
  EXPECT_EQ(speaker_count(bin, {0, 2}, 6)[2], 1);
  // One of two windows hears speech: 0.5 -> nobody.
  Array3 half(2, 4, 1);
  for (int f = 0; f < 4; ++f) half.at(0, f, 0) = 1;
  EXPECT_EQ(speaker_count(half, {0, 2}, 6), (std::vector<int>{1, 1, 0, 0, 0, 0}));
}

TEST(TopSpeakers, KeepsTheCountMostActivePositiveSpeakers) {
  Array3 agg(1, 4, 3);
  const float v[4][3] = {{0.2f, 0.9f, 0.5f}, {0.5f, 0.5f, 0.0f}, {0, 0, 0}, {0.3f, 0, 0}};
  for (int t = 0; t < 4; ++t)
    for (int k = 0; k < 3; ++k) agg.at(0, t, k) = v[t][k];
  const Array3 top = top_speakers(agg, {2, 1, 1, 3});
  EXPECT_EQ(column(top, 0, 0), (std::vector<float>{0, 1, 0, 1}));  // tie -> lower index
  EXPECT_EQ(column(top, 0, 1), (std::vector<float>{1, 0, 0, 0}));
  EXPECT_EQ(column(top, 0, 2), (std::vector<float>{1, 0, 0, 0}));  // zero never switched on
  EXPECT_THROW(top_speakers(agg, {1}), Error);
}

TEST(Turns, RunsBecomeTurnsLabelledByFirstAppearance) {
  // 20 frames of 0.1 s; speaker column 1 speaks first.
  Array3 act(1, 20, 2);
  for (int t = 2; t < 6; ++t) act.at(0, t, 1) = 1;   // 0.2-0.6
  for (int t = 7; t < 9; ++t) act.at(0, t, 1) = 1;   // 0.7-0.9 (gap 0.1 s)
  for (int t = 5; t < 15; ++t) act.at(0, t, 0) = 1;  // 0.5-1.5, overlapping
  act.at(0, 18, 0) = 1;                              // 1.8-1.9: a 0.1 s blip
  const FrameTiming timing{0.0, 0.1, 0.1};
  auto turns = activity_to_turns(act, timing, 2.0, 0.0, 0.0);
  ASSERT_EQ(turns.size(), 4u);
  EXPECT_EQ(turns[0].speaker, "SPEAKER_00");
  EXPECT_NEAR(turns[0].start, 0.2, 1e-9);
  EXPECT_NEAR(turns[0].end, 0.6, 1e-9);
  EXPECT_EQ(turns[1].speaker, "SPEAKER_01");
  EXPECT_NEAR(turns[1].start, 0.5, 1e-9);
  EXPECT_NEAR(turns[1].end, 1.5, 1e-9);
  // min_duration_off fills the 0.1 s gap; min_duration_on drops the blip.
  turns = activity_to_turns(act, timing, 2.0, 0.15, 0.15);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[0].speaker, "SPEAKER_00");
  EXPECT_NEAR(turns[0].end, 0.9, 1e-9);
  EXPECT_EQ(turns[1].speaker, "SPEAKER_01");
  // Clipped to the recording.
  turns = activity_to_turns(act, timing, 1.0, 0.0, 0.0);
  EXPECT_NEAR(turns[1].end, 1.0, 1e-9);
  EXPECT_EQ(turns.size(), 3u);
}

TEST(Turns, RelabelSortsAndRenames) {
  std::vector<SpeakerTurn> turns = {{3, 4, "b"}, {1, 2, "c"}, {1, 5, "a"}, {6, 7, "c"}};
  relabel_by_first_appearance(turns);
  ASSERT_EQ(turns.size(), 4u);
  EXPECT_EQ(turns[0].speaker, "SPEAKER_00");  // "a" at 1 (ties by old name)
  EXPECT_EQ(turns[1].speaker, "SPEAKER_01");  // "c" at 1
  EXPECT_EQ(turns[2].speaker, "SPEAKER_02");  // "b" at 3
  EXPECT_EQ(turns[3].speaker, "SPEAKER_01");
  EXPECT_EQ(speaker_label(12), "SPEAKER_12");
}

}  // namespace
}  // namespace voiceman::diarize
