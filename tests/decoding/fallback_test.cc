#include "voiceman/decoding/fallback.h"

#include <gtest/gtest.h>

#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/decoding/text_utils.h"

namespace voiceman::decoding {
namespace {

// Expected values: len(b) / len(zlib.compress(b)) in Python
// (tests/decoding/faster_whisper_oracle.py).
TEST(CompressionRatio, MatchesPythonZlib) {
  EXPECT_DOUBLE_EQ(compression_ratio("hello world"), 11.0 / 19.0);
  EXPECT_DOUBLE_EQ(compression_ratio("the the the the the the the the the the the the"),
                   47.0 / 15.0);
  EXPECT_DOUBLE_EQ(compression_ratio(""), 0.0);
  EXPECT_DOUBLE_EQ(compression_ratio("\u00c7a va? \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9"
                                     "\u30c8\u3002"),
                   35.0 / 46.0);
  EXPECT_DOUBLE_EQ(compression_ratio(" And so my fellow Americans, ask not what your country can "
                                     "do for you, ask what you can do for your country."),
                   108.0 / 79.0);
}

TEST(PythonStrip, StripsUnicodeWhitespaceOnly) {
  EXPECT_EQ(python_strip("  hi there \n"), "hi there");
  EXPECT_EQ(python_strip("\u3000\u00a0x\u2009"), "x");  // ideographic, no-break, thin spaces
  EXPECT_EQ(python_strip("\u200bx"), "\u200bx");        // zero-width space is not whitespace
  EXPECT_EQ(python_strip(" \t "), "");
  EXPECT_EQ(python_strip("\xff "), "\xff");  // malformed bytes stay
}

TEST(AverageLogprob, RecoversTheSumLikeFasterWhisper) {
  // CTranslate2 score = cum / len^penalty; faster-whisper: cum / (len + 1).
  EXPECT_DOUBLE_EQ(average_logprob(-0.5f, 9, 1.0f), -0.5 * 9 / 10);
  EXPECT_NEAR(average_logprob(-0.25f, 4, 0.5f), -0.25 * 2 / 5, 1e-12);
  EXPECT_DOUBLE_EQ(average_logprob(-1.0f, 3, 0.0f), -1.0 / 4);
  EXPECT_TRUE(std::isnan(average_logprob(-INFINITY, 0, 1.0f)));  // -inf * 0, as in Python
}

TEST(NeedsFallback, FasterWhisperDecisions) {
  const FallbackPolicy p;
  EXPECT_FALSE(needs_fallback(-0.5, 1.5, 0.1f, p));
  EXPECT_TRUE(needs_fallback(-0.5, 2.5, 0.1f, p));   // too repetitive
  EXPECT_FALSE(needs_fallback(-0.5, 2.4, 0.1f, p));  // threshold itself passes
  EXPECT_TRUE(needs_fallback(-1.2, 1.5, 0.1f, p));   // too improbable
  EXPECT_FALSE(needs_fallback(-1.2, 1.5, 0.7f, p));  // silence: accepted as is
  EXPECT_FALSE(needs_fallback(-1.2, 2.9, 0.7f, p));  // silence even overrides repetition
  EXPECT_TRUE(needs_fallback(-0.5, 2.9, 0.7f, p));   // not silence: logprob is fine
  FallbackPolicy off;
  off.compression_ratio_threshold.reset();
  off.log_prob_threshold.reset();
  EXPECT_FALSE(needs_fallback(-5.0, 9.0, 0.0f, off));
  FallbackPolicy no_logprob = p;
  no_logprob.log_prob_threshold.reset();
  EXPECT_TRUE(needs_fallback(-5.0, 2.9, 0.9f, no_logprob));  // no silence rule without it
}

TEST(FallbackSelector, StopsAtTheFirstAcceptedAttempt) {
  FallbackSelector s{FallbackPolicy{}};
  EXPECT_FALSE(s.add({-1.5, 1.2, 0.1f, 0.0f}));
  EXPECT_TRUE(s.add({-0.6, 1.3, 0.1f, 0.2f}));
  EXPECT_EQ(s.chosen(), 1u);
  EXPECT_FLOAT_EQ(s.final_temperature(), 0.2f);
  EXPECT_THROW(s.add({-0.6, 1.3, 0.1f, 0.4f}), Error);
}

TEST(FallbackSelector, AllFailedPicksBestLogprobUnderTheCompressionThreshold) {
  FallbackSelector s{FallbackPolicy{}};
  const float temps[] = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
  const double logprobs[] = {-1.1, -0.3, -1.4, -1.05, -2.0, -1.3};
  const double ratios[] = {1.5, 3.0, 1.9, 1.7, 2.2, 2.6};
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(s.add({logprobs[i], ratios[i], 0.1f, temps[i]}));
  // -0.3 is best overall but too repetitive; among the rest -1.05 (t = 0.6) wins.
  EXPECT_EQ(s.chosen(), 3u);
  EXPECT_FLOAT_EQ(s.final_temperature(), 1.0f);  // reported: the last temperature tried
}

TEST(FallbackSelector, AllRepetitiveFallsBackToAllAttempts) {
  FallbackSelector s{FallbackPolicy{}};
  EXPECT_FALSE(s.add({-0.9, 3.0, 0.1f, 0.0f}));
  EXPECT_FALSE(s.add({-0.4, 2.5, 0.1f, 0.2f}));
  EXPECT_FALSE(s.add({-0.4, 4.0, 0.1f, 0.4f}));  // a tie keeps the first
  EXPECT_EQ(s.chosen(), 1u);
}

TEST(SkipWindow, NoSpeechUnlessConfident) {
  const FallbackPolicy p;
  EXPECT_TRUE(should_skip_window(0.7f, -1.5, p));
  EXPECT_FALSE(should_skip_window(0.7f, -0.5, p));  // the text is confident enough
  EXPECT_FALSE(should_skip_window(0.5f, -1.5, p));
  FallbackPolicy no_threshold = p;
  no_threshold.no_speech_threshold.reset();
  EXPECT_FALSE(should_skip_window(0.99f, -3.0, no_threshold));
}

}  // namespace
}  // namespace voiceman::decoding
