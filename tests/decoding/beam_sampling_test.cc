#include <gtest/gtest.h>

#include <cmath>

#include "voiceman/decoding/beam_search.h"
#include "voiceman/decoding/sampling.h"

namespace voiceman::decoding {
namespace {

TEST(TopCandidates, BestFirstWithTiesToTheLowerFlatIndex) {
  // Two beams x 3 tokens.
  const std::vector<float> lp = {-1.0f, -0.5f, -2.0f, -0.25f, -0.75f, -0.5f};
  const std::vector<float> cum = {0.0f, -0.25f};
  const auto c = top_candidates(lp, cum, 3, 4);
  ASSERT_EQ(c.size(), 4u);
  // Scores: b0: -1, -0.5, -2; b1: -0.5, -1, -0.75.
  EXPECT_EQ(c[0].beam, 0);
  EXPECT_EQ(c[0].token, 1);
  EXPECT_EQ(c[1].beam, 1);  // tie at -0.5: beam 0 token 1 came first
  EXPECT_EQ(c[1].token, 0);
  EXPECT_EQ(c[2].beam, 1);
  EXPECT_EQ(c[2].token, 2);
  EXPECT_EQ(c[3].beam, 0);  // tie at -1.0: beam 0 before beam 1
  EXPECT_EQ(c[3].token, 0);
  EXPECT_FLOAT_EQ(c[2].score, -0.75f);
}

TEST(BeamRequest, EndingCandidateIsReplacedBySecondaryCandidate) {
  // Vocabulary 4, eot = 3, beam 2: step 0 looks at one row.
  BeamRequest beam(2, 1.0f, 1.0f, 3, {}, 10, 4);
  ASSERT_EQ(beam.beams().size(), 1u);
  const float l = std::log(0.25f);
  std::vector<float> row = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  // Candidates: eot, 2, 1, 0. The ending top candidate is registered and its beam taken by
  // the first secondary candidate (token 1); beam 1 keeps candidate 1 (token 2).
  auto origins = beam.advance(row);
  EXPECT_FALSE(beam.finished());
  ASSERT_EQ(beam.beams().size(), 2u);
  EXPECT_EQ(beam.beams()[0].tokens, (std::vector<int32_t>{1}));
  EXPECT_EQ(beam.beams()[1].tokens, (std::vector<int32_t>{2}));
  EXPECT_EQ(origins, (std::vector<int32_t>{0, 0}));
  // Step 1: both beams end at once: 3 hypotheses >= round(2 * 1.0).
  std::vector<float> two_rows = {l, l, l, 0.0f, l, l, l, 0.0f};
  beam.advance(two_rows);
  ASSERT_TRUE(beam.finished());
  const auto hyps = beam.take_hypotheses();
  ASSERT_EQ(hyps.size(), 3u);
  EXPECT_EQ(hyps[0].tokens, (std::vector<int32_t>{2}));
  EXPECT_NEAR(hyps[0].score, std::log(0.3), 1e-6);
  EXPECT_EQ(hyps[1].tokens, (std::vector<int32_t>{1}));
  EXPECT_TRUE(hyps[2].tokens.empty());  // log(0.4) / 0^1 = -inf, like CTranslate2
  EXPECT_EQ(hyps[2].score, -INFINITY);
  EXPECT_NEAR(hyps[2].cum_logprob, std::log(0.4), 1e-6);
}

TEST(BeamRequest, PrefixIsForcedOnTheFirstBeamAndSecondaryBeamsCannotEndRightAfter) {
  BeamRequest beam(2, 1.0f, 1.0f, 3, {1}, 10, 4);
  const std::vector<float> row = {std::log(0.05f), std::log(0.05f), std::log(0.5f), std::log(0.4f)};
  beam.advance(row);  // forced: token 1 everywhere, first beam scores 0
  ASSERT_EQ(beam.beams().size(), 2u);
  EXPECT_EQ(beam.beams()[0].tokens, (std::vector<int32_t>{1}));
  EXPECT_EQ(beam.beams()[0].cum_logprob, 0.0f);
  EXPECT_EQ(beam.beams()[1].tokens, (std::vector<int32_t>{1}));
  EXPECT_EQ(beam.beams()[1].cum_logprob, -1e10f);
  // First free step: candidate 1 is <|endoftext|> on a secondary slot: it becomes token 0
  // with a losing score instead of ending the search early.
  std::vector<float> rows(row);
  rows.insert(rows.end(), row.begin(), row.end());
  const auto origins = beam.advance(rows);
  EXPECT_EQ(origins, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(beam.beams()[0].tokens, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(beam.beams()[0].cum_logprob, std::log(0.5), 1e-6);
  EXPECT_EQ(beam.beams()[1].tokens, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(beam.beams()[1].cum_logprob, -1e10f);
  EXPECT_FALSE(beam.finished());
}

TEST(Sampling, ArgmaxTakesTheFirstMaximum) {
  EXPECT_EQ(argmax(std::vector<float>{0.1f, 0.7f, 0.7f, 0.2f}), 1);
}

TEST(Sampling, FrequenciesFollowTheTemperedDistribution) {
  const std::vector<float> lp = {std::log(0.5f), std::log(0.3f), std::log(0.2f), -1e30f};
  std::mt19937_64 rng(mix_seed(1, 2, 3));
  const int n = 20000;
  for (float t : {1.0f, 0.5f}) {
    std::vector<int> counts(4, 0);
    for (int i = 0; i < n; ++i) ++counts[size_t(sample_token(lp, t, rng))];
    double z = 0;
    for (int k = 0; k < 3; ++k) z += std::pow(std::exp(double(lp[size_t(k)])), 1.0 / t);
    for (int k = 0; k < 3; ++k) {
      const double p = std::pow(std::exp(double(lp[size_t(k)])), 1.0 / t) / z;
      EXPECT_NEAR(counts[size_t(k)] / double(n), p, 0.015) << "t " << t << " k " << k;
    }
    EXPECT_EQ(counts[3], 0);
  }
}

TEST(Sampling, SeedsAreReproducibleAndDistinct) {
  std::mt19937_64 a(mix_seed(5, 6, 0)), b(mix_seed(5, 6, 0)), c(mix_seed(5, 6, 1));
  EXPECT_EQ(uniform01(a), uniform01(b));
  EXPECT_NE(mix_seed(5, 6, 0), mix_seed(5, 6, 1));
  EXPECT_NE(mix_seed(5, 6, 0), mix_seed(6, 5, 0));
  const double u = uniform01(c);
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
}

}  // namespace
}  // namespace voiceman::decoding
