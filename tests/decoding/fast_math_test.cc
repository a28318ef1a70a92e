#include "voiceman/decoding/fast_math.h"

#include <gtest/gtest.h>

#include <cmath>
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
