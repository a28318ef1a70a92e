#include "voiceman/assign/assign.h"

#include <gtest/gtest.h>

namespace voiceman::assign {
namespace {

Word word(const char* text, double start, double end) {
  Word w;
  w.word = text;
  w.start = start;
  w.end = end;
  return w;
}

// Turns: A 0-2, B 1.5-4 (overlapping A), A 5-6 and 6.5-7, B 8-9.
std::vector<SpeakerTurn> turns() {
  return {{0, 2, "SPEAKER_00"},
          {1.5, 4, "SPEAKER_01"},
          {5, 6, "SPEAKER_00"},
          {6.5, 7, "SPEAKER_00"},
          {8, 9, "SPEAKER_01"}};
}

TEST(SpeakerFor, MostOverlapWins) {
  const auto t = turns();
  EXPECT_EQ(speaker_for(0.2, 0.8, t), "SPEAKER_00");
  EXPECT_EQ(speaker_for(1.6, 2.5, t), "SPEAKER_01");  // 0.4 s of A, 0.9 s of B
  EXPECT_EQ(speaker_for(1.0, 2.2, t), "SPEAKER_00");  // 1.0 s of A, 0.7 s of B
  // Overlaps of one speaker add up: A 5.5-6 + 6.5-7 (1.0 s) against B 8-8.4 (0.4 s).
  EXPECT_EQ(speaker_for(5.5, 8.4, t), "SPEAKER_00");
  EXPECT_EQ(speaker_for(1.75, 2.25, t), "SPEAKER_01");  // A 0.25, B 0.5
  // Equal overlap (A 0.5, B 0.5): the label that sorts first.
  EXPECT_EQ(speaker_for(1.5, 2.0, t), "SPEAKER_00");
}

TEST(SpeakerFor, NoOverlapTakesTheNearestTurn) {
  const auto t = turns();
  EXPECT_EQ(speaker_for(4.2, 4.4, t), "SPEAKER_01");  // 0.2 after B, 0.6 before A
  EXPECT_EQ(speaker_for(4.6, 4.9, t), "SPEAKER_00");  // 0.1 before A
  EXPECT_EQ(speaker_for(7.2, 7.3, t), "SPEAKER_00");  // 0.2 after A, 0.7 before B
  EXPECT_EQ(speaker_for(7.5, 7.6, t), "SPEAKER_01");  // 0.5 after A, 0.4 before B
  EXPECT_EQ(speaker_for(7.7, 7.8, t), "SPEAKER_01");  // 0.2 before B
  EXPECT_EQ(speaker_for(20, 21, t), "SPEAKER_01");    // after the end
  EXPECT_EQ(speaker_for(5.5, 5.5, t), "SPEAKER_00");  // zero-length word inside A
  EXPECT_EQ(speaker_for(4.5, 4.5, {{4, 4.5, "x"}, {4.5, 5, "y"}}), "x");  // touching: earlier
  EXPECT_EQ(speaker_for(1, 2, {}), "");
}

TEST(AssignSpeakers, WordsSegmentsTurnsAndSummary) {
  Transcript tr;
  Segment a;
  a.start = 0.0;
  a.end = 3.8;
  a.words = {word(" Hello", 0.1, 0.6), word(" there", 0.7, 1.2), word(" Hi", 2.1, 2.6),
             word(" you", 2.7, 3.5)};
  Segment b;
  b.start = 5.0;
  b.end = 8.8;
  b.words = {word(" So", 5.1, 5.4), word(" yes", 8.1, 8.7)};
  b.speaker = "stale";
  tr.segments = {a, b};
  assign_speakers(tr, turns());
  EXPECT_EQ(tr.speaker_turns.size(), 5u);
  EXPECT_EQ(tr.segments[0].speaker, "SPEAKER_01");  // A 2.0 s, B 2.3 s
  EXPECT_EQ(tr.segments[0].words[0].speaker, "SPEAKER_00");
  EXPECT_EQ(tr.segments[0].words[1].speaker, "SPEAKER_00");
  EXPECT_EQ(tr.segments[0].words[2].speaker, "SPEAKER_01");
  EXPECT_EQ(tr.segments[0].words[3].speaker, "SPEAKER_01");
  EXPECT_EQ(tr.segments[1].speaker, "SPEAKER_00");  // A 1.5 s, B 0.8 s
  EXPECT_EQ(tr.segments[1].words[1].speaker, "SPEAKER_01");

  const auto summary = summarize_speakers(tr);
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].speaker, "SPEAKER_00");
  EXPECT_DOUBLE_EQ(summary[0].seconds, 3.5);
  EXPECT_EQ(summary[0].words, 3);
  EXPECT_EQ(summary[0].segments, 1);
  EXPECT_EQ(summary[1].speaker, "SPEAKER_01");
  EXPECT_DOUBLE_EQ(summary[1].seconds, 3.5);
  EXPECT_EQ(summary[1].words, 3);
  EXPECT_EQ(summary[1].segments, 1);

  // Without turns every speaker is cleared.
  assign_speakers(tr, {});
  EXPECT_FALSE(tr.segments[1].speaker.has_value());
  EXPECT_FALSE(tr.segments[0].words[0].speaker.has_value());
  EXPECT_TRUE(summarize_speakers(tr).empty());
}

}  // namespace
}  // namespace voiceman::assign
