#include "voiceman/decoding/fast_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace voiceman::decoding {
namespace {

TEST(FastMath, ExpIsAccurateOverTheUsedRange) {
  double worst = 0;
  for (float x = -87.0f; x <= 0.0f; x += 0.0037f) {
    const double ref = std::exp(double(x));
    worst = std::max(worst, std::fabs(fast_exp(x) - ref) / ref);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_NEAR(fast_exp(10.0f), std::exp(10.0), std::exp(10.0) * 3e-7);
}

TEST(FastMath, DisabledLogitsWeighNothing) {
  EXPECT_EQ(fast_exp(-100.0f), 0.0f);
  EXPECT_EQ(fast_exp(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(fast_exp(std::numeric_limits<float>::lowest()), 0.0f);
}

TEST(FastMath, SumAndExpIntoMatchDoublePrecision) {
  std::vector<float> x(1003);  // not a multiple of the vector width
  double ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = float(i % 97) / 10.0f - 5.0f;
    ref += std::exp(double(x[i]) * 0.5 - 1.0);
  }
  x[7] = std::numeric_limits<float>::lowest();
  ref -= std::exp((-5.0 + 0.7) * 0.5 - 1.0);
  EXPECT_NEAR(sum_exp(x, 1.0f, 0.5f), ref, ref * 1e-6);
  std::vector<float> out(x.size());
  exp_into(x, 1.0f, 0.5f, out);
  EXPECT_EQ(out[7], 0.0f);
  EXPECT_NEAR(out[1002], std::exp(double(x[1002]) * 0.5 - 1.0), 1e-6);
  EXPECT_EQ(sum_exp(std::span<const float>(), 0.0f), 0.0);
}

// The sums are taken on 16 lanes, each block of 64 values then added in double in lane
// order, whichever SIMD clone the CPU picks (this one may run the AVX-512 clone). A scalar
// replay of that order with fast_exp must give the same double, bit for bit: a clone that
// rounded differently (FMA, other lanes) would fail here.
TEST(FastMath, SumsRoundTheSameOnEveryClone) {
  std::vector<float> x(51865);  // a Whisper vocabulary row, with a partial last block
  uint32_t state = 12345;
  for (float& v : x) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / 16777216.0f * 30.0f - 20.0f;
  }
  x[100] = std::numeric_limits<float>::lowest();
  const float shift = 3.25f;
  double replay = 0;
  for (size_t begin = 0; begin < x.size(); begin += 64) {
    float lanes[16] = {};
    for (size_t i = begin; i < std::min(x.size(), begin + 64); ++i)
      lanes[(i - begin) % 16] += fast_exp(x[i] - shift);
    for (float lane : lanes) replay += double(lane);
  }
  EXPECT_EQ(sum_exp(x, shift), replay);
  std::vector<float> out(x.size());
  exp_into(x, shift, 1.0f, out);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(out[i], fast_exp(x[i] - shift)) << i;
  float best = x[0];
  for (float v : x) best = std::max(best, v);
  EXPECT_EQ(max_value(x), best);
}

TEST(FastMath, MaxAndFirstArgmax) {
  std::vector<float> x = {1, 5, -2, 5, 3, 0, 4};
  EXPECT_EQ(max_value(x), 5.0f);
  EXPECT_EQ(argmax_index(x), 1u);
  x.push_back(9);  // in the scalar tail
  EXPECT_EQ(max_value(x), 9.0f);
  EXPECT_EQ(argmax_index(x), 7u);
  EXPECT_EQ(max_value(std::span<const float>()), -std::numeric_limits<float>::infinity());
}

}  // namespace
}  // namespace voiceman::decoding
