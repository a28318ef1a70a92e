#include "voiceman/decoding/logits_rules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "decoding/fake_step_model.h"

namespace voiceman::decoding {
namespace {

using testing::kTinyVocab;
using testing::tiny_specials;
using Tokens = std::vector<int32_t>;

std::vector<float> ramp() {
  std::vector<float> v(kTinyVocab);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * float(i) - 1.0f;
  return v;
}

std::vector<int32_t> disabled(const std::vector<float>& v) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == kDisabledLogit) ids.push_back(int32_t(i));
  }
  return ids;
}

Tokens range(int32_t begin, int32_t end) {
  Tokens t(size_t(end - begin));
  std::iota(t.begin(), t.end(), begin);
  return t;
}

Tokens concat(Tokens a, const Tokens& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(LogitsRules, SuppressTokensIgnoresIdsOutsideTheRow) {
  auto v = ramp();
  suppress_tokens(v, Tokens{3, 7, 3, 99, -1});
  EXPECT_EQ(disabled(v), (Tokens{3, 7}));
}

TEST(LogitsRules, SuppressBlankOnlyAtTheFirstFreeStep) {
  const Tokens blank = {0, 10};
  auto v = ramp();
  suppress_blank(v, blank, Tokens{}, 0);
  EXPECT_EQ(disabled(v), blank);
  v = ramp();
  suppress_blank(v, blank, Tokens{4}, 0);
  EXPECT_TRUE(disabled(v).empty());
  v = ramp();
  suppress_blank(v, blank, Tokens{4, 5}, 2);  // after a 2-token prefix
  EXPECT_EQ(disabled(v), blank);
}

TEST(LogitsRules, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  std::vector<float> v = {2.0f, -1.0f, 0.5f, 3.0f};
  apply_repetition_penalty(v, Tokens{0, 1, 0}, 2.0f);  // the repeated 0 is penalized once
  EXPECT_EQ(v, (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));
  apply_repetition_penalty(v, Tokens{}, 2.0f);
  EXPECT_EQ(v, (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));
}

TEST(LogitsRules, NoRepeatNgramBansCompletionsOfSeenNgrams) {
  auto v = ramp();
  apply_no_repeat_ngram(v, Tokens{1, 2, 3, 1, 2}, 3);  // "1 2" was followed by 3
  EXPECT_EQ(disabled(v), (Tokens{3}));
  v = ramp();
  apply_no_repeat_ngram(v, Tokens{1, 2, 3, 2, 4, 2}, 2);  // "2" was followed by 3 and 4
  EXPECT_EQ(disabled(v), (Tokens{3, 4}));
  v = ramp();
  apply_no_repeat_ngram(v, Tokens{5, 1, 5}, 1);  // unigrams: every generated token
  EXPECT_EQ(disabled(v), (Tokens{1, 5}));
  v = ramp();
  apply_no_repeat_ngram(v, Tokens{1, 2}, 3);  // shorter than n: nothing
  EXPECT_TRUE(disabled(v).empty());
}

TimestampRules tiny_rules(int max_initial = 3) {
  return TimestampRules::make(tiny_specials(), kTinyVocab, max_initial);
}

TEST(TimestampRules, FirstTokenIsAnEarlyTimestamp) {
  const auto r = tiny_rules(3);
  EXPECT_EQ(r.timestamp_end, 29);
  EXPECT_EQ(r.max_initial_timestamp, 22);
  auto v = ramp();
  apply_timestamp_rules(v, Tokens{}, 0, r);
  EXPECT_EQ(disabled(v), concat(range(0, 19), range(23, 30)));  // notimestamps (18) included
}

TEST(TimestampRules, LoneFirstTimestampIsFollowedByText) {
  auto v = ramp();
  apply_timestamp_rules(v, Tokens{20}, 0, tiny_rules());
  EXPECT_EQ(disabled(v), concat(Tokens{18}, range(19, 30)));
}

TEST(TimestampRules, OpenPairClosesWithALaterOrEqualTimestampOrEnds) {
  auto v = ramp();
  apply_timestamp_rules(v, Tokens{20, 3, 4, 24}, 0, tiny_rules());
  // Text before <|endoftext|> disabled; timestamps below 24 disabled; 24 itself allowed.
  // The timestamp mass then beats <|endoftext|> and the specials: all of 0..18 go.
  EXPECT_EQ(disabled(v), range(0, 24));
}

TEST(TimestampRules, OpenPairMayEndWhenTextIsLikelier) {
  auto v = ramp();
  v[10] = 9.0f;  // <|endoftext|> dominates
  apply_timestamp_rules(v, Tokens{20, 3, 4, 24}, 0, tiny_rules());
  EXPECT_EQ(disabled(v), concat(concat(range(0, 10), Tokens{18}), range(19, 24)));
}

TEST(TimestampRules, ClosedPairIsFollowedByText) {
  auto v = ramp();
  apply_timestamp_rules(v, Tokens{20, 3, 24, 24}, 0, tiny_rules());
  EXPECT_EQ(disabled(v), concat(Tokens{18}, range(19, 30)));
}

TEST(TimestampRules, TimestampsNeverDecrease) {
  auto v = ramp();
  v[5] = 9.0f;  // text stays likelier than the timestamp mass
  apply_timestamp_rules(v, Tokens{20, 3, 23, 23, 4, 5}, 0, tiny_rules());
  EXPECT_EQ(disabled(v), concat(Tokens{18}, range(19, 24)));
}

TEST(TimestampRules, TimestampMassForcesATimestamp) {
  // Best text logit 2.0; after the last timestamp (19) ten remain at 0: log(10) = 2.30 > 2.0.
  std::vector<float> v(kTinyVocab, -10.0f);
  v[3] = 2.0f;
  for (int t = 19; t < 30; ++t) v[size_t(t)] = 0.0f;
  apply_timestamp_rules(v, Tokens{19, 3}, 0, tiny_rules());
  EXPECT_EQ(disabled(v), concat(range(0, 19), Tokens{19}));  // 19 is not above the last
  // With the best text at 2.5 > 2.30, text survives.
  std::fill(v.begin(), v.end(), -10.0f);
  v[3] = 2.5f;
  for (int t = 19; t < 30; ++t) v[size_t(t)] = 0.0f;
  apply_timestamp_rules(v, Tokens{19, 3}, 0, tiny_rules());
  EXPECT_EQ(disabled(v), (Tokens{18, 19}));
}

TEST(TimestampRules, ForcedPrefixShiftsTheSampleBegin) {
  // At the first free step after a prefix only <|notimestamps|> is disabled.
  auto v = ramp();
  apply_timestamp_rules(v, Tokens{19, 3}, 2, tiny_rules());
  EXPECT_EQ(disabled(v), (Tokens{18}));
  // One step later a lone timestamp counts as closing a pair (the prefix is not looked at).
  v = ramp();
  apply_timestamp_rules(v, Tokens{19, 3, 21}, 2, tiny_rules());
  EXPECT_EQ(disabled(v), concat(Tokens{18}, range(19, 30)));
  // Monotonicity only looks back to the sample begin: the prefix's 25 does not count.
  v = ramp();
  v[5] = 9.0f;
  apply_timestamp_rules(v, Tokens{25, 3, 5}, 2, tiny_rules());
  EXPECT_EQ(disabled(v), (Tokens{18}));
}

TEST(LogitsRules, ApplyRulesRunsInCTranslate2Order) {
  LogitsRules rules;
  rules.repetition_penalty = 2.0f;
  rules.suppress_ids = {7};
  rules.suppress_begin_ids = {0, 10};
  auto v = ramp();  // v[4] = -0.6
  apply_rules(rules, v, Tokens{4}, 0);
  EXPECT_FLOAT_EQ(v[4], -1.2f);
  EXPECT_EQ(disabled(v), (Tokens{7}));
  v = ramp();
  apply_rules(rules, v, Tokens{}, 0);
  EXPECT_EQ(disabled(v), (Tokens{0, 7, 10}));
}

TEST(LogitsRules, LogSoftmaxNormalizesAndKeepsDisabledTokensImpossible) {
  std::vector<float> v = {1.0f, 2.0f, kDisabledLogit, 0.0f};
  std::vector<float> out(4);
  log_softmax(v, out);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + 1.0);
  EXPECT_NEAR(out[0], 1.0 - lse, 1e-6);
  EXPECT_NEAR(out[1], 2.0 - lse, 1e-6);
  EXPECT_NEAR(out[3], -lse, 1e-6);
  EXPECT_LT(out[2], -1e38f);
}

}  // namespace
}  // namespace voiceman::decoding
