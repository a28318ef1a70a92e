// The SincNet ops (instance_norm, max_pool1d, leaky_relu, absolute) against hand-computed
// answers and a naive reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::ops {
namespace {

ExecContext cpu() {
  ExecContext ctx;
  ctx.threads = 2;
  return ctx;
}

TEST(DiarizationOps, InstanceNormHandComputed) {
  // Row [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 10, 10, 10, 10}, {1, 2, 4});
  const Tensor gamma = Tensor::from_vector({2, 1}, {2});
  const Tensor beta = Tensor::from_vector({0.5f, -1}, {2});
  Tensor y;
  instance_norm(cpu(), x, gamma, beta, 1e-5f, y);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 4}));
  const double inv = 1.0 / std::sqrt(1.25 + 1e-5);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y.data<float>()[i], (i + 1 - 2.5) * inv * 2 + 0.5, 1e-5);
  for (int i = 4; i < 8; ++i) EXPECT_NEAR(y.data<float>()[i], -1.0, 1e-6);  // constant row -> beta
  EXPECT_THROW(instance_norm(cpu(), x, Tensor::from_vector({1}, {1}), beta, 1e-5f, y), Error);
}

TEST(DiarizationOps, InstanceNormRandomRows) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(3.f, 2.f);
  Tensor x({3, 5, 101});
  for (float& v : x.span<float>()) v = dist(rng);
  Tensor gamma = Tensor::from_vector({1, 2, 3, 4, 5}, {5}), beta = Tensor::zeros({5}), y;
  instance_norm(cpu(), x, gamma, beta, 1e-5f, y);
  for (int64_t r = 0; r < 15; ++r) {
    double mean = 0, sq = 0;
    for (int i = 0; i < 101; ++i) mean += y.data<float>()[r * 101 + i];
    mean /= 101;
    for (int i = 0; i < 101; ++i) sq += std::pow(y.data<float>()[r * 101 + i] - mean, 2);
    const double g = gamma.data<float>()[r % 5];
    EXPECT_NEAR(mean, 0, 1e-5);
    EXPECT_NEAR(std::sqrt(sq / 101), g, 1e-3 * g);
  }
}

TEST(DiarizationOps, MaxPoolFloorsTheLastWindow) {
  const Tensor x = Tensor::from_vector({1, 5, 2, -1, -3, -2, 9, 0}, {1, 1, 8});
  Tensor y;
  max_pool1d(cpu(), x, 3, 3, y);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2}));  // (8 - 3) / 3 + 1; samples 6..7 dropped
  EXPECT_EQ(y.to_vector(), (std::vector<float>{5, -1}));
  max_pool1d(cpu(), x, 2, 1, y);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{5, 5, 2, -1, -2, 9, 9}));
  EXPECT_THROW(max_pool1d(cpu(), x, 0, 1, y), Error);
  // A NaN anywhere in a window is that window's maximum, first or not (torch's rule).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  max_pool1d(cpu(), Tensor::from_vector({nan, 5, 2, 1, nan, 0, 4, 3, 2}, {1, 1, 9}), 3, 3, y);
  const std::vector<float> got = y.to_vector();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(std::isnan(got[0]));
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_EQ(got[2], 4);
}

TEST(DiarizationOps, LeakyReluAndAbsolute) {
  Tensor x = Tensor::from_vector({-2, -0.5f, 0, 3}, {4});
  leaky_relu(cpu(), x);
  EXPECT_EQ(x.to_vector(), (std::vector<float>{-0.02f, -0.005f, 0, 3}));
  leaky_relu(cpu(), x, 0.5f);
  EXPECT_EQ(x.to_vector(), (std::vector<float>{-0.01f, -0.0025f, 0, 3}));
  absolute(cpu(), x);
  EXPECT_EQ(x.to_vector(), (std::vector<float>{0.01f, 0.0025f, 0, 3}));
}

TEST(DiarizationOps, AffineRows) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  affine_rows(cpu(), x, Tensor::from_vector({2, -1, 0.5f}, {3}),
              Tensor::from_vector({1, 0, -1}, {3}));
  EXPECT_EQ(x.to_vector(), (std::vector<float>{3, 5, -3, -4, 1.5f, 2}));
  // Rows are any split of the elements: [2, 3, 2] as 3 rows of 4 fails, as 2 rows works.
  Tensor y = Tensor::from_vector({1, 1, 1, 1, 1, 1}, {1, 3, 2});
  affine_rows(cpu(), y, Tensor::from_vector({1, 3}, {2}), Tensor::from_vector({0, 1}, {2}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1, 1, 1, 4, 4, 4}));
  const Tensor v4 = Tensor::from_vector({1, 1, 1, 1}, {4});
  EXPECT_THROW(affine_rows(cpu(), y, v4, v4), Error);
  EXPECT_THROW(affine_rows(cpu(), y, Tensor::from_vector({1, 1}, {2}), v4), Error);
}

// conv2d against a direct 7-loop convolution, with stride, padding and a bias.
TEST(DiarizationOps, Conv2dMatchesNaive) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  Tensor x({2, 3, 9, 11}), w({4, 3, 3, 3}), b({4});
  for (Tensor* t : {&x, &w, &b})
    for (float& v : t->span<float>()) v = dist(rng);
  for (int stride : {1, 2})
    for (int padding : {0, 1}) {
      Tensor y;
      conv2d(cpu(), x, w, b, stride, padding, y);
      const int64_t ho = (9 + 2 * padding - 3) / stride + 1,
                    wo = (11 + 2 * padding - 3) / stride + 1;
      ASSERT_EQ(y.shape(), (Shape{2, 4, ho, wo}));
      float worst = 0;
      for (int n = 0; n < 2; ++n)
        for (int o = 0; o < 4; ++o)
          for (int i = 0; i < ho; ++i)
            for (int j = 0; j < wo; ++j) {
              double acc = b.data<float>()[o];
              for (int c = 0; c < 3; ++c)
                for (int ki = 0; ki < 3; ++ki)
                  for (int kj = 0; kj < 3; ++kj) {
                    const int ii = i * stride + ki - padding, jj = j * stride + kj - padding;
                    if (ii < 0 || ii >= 9 || jj < 0 || jj >= 11) continue;
                    acc += double(x.data<float>()[((n * 3 + c) * 9 + ii) * 11 + jj]) *
                           w.data<float>()[((o * 3 + c) * 3 + ki) * 3 + kj];
                  }
              const float got = y.data<float>()[((n * 4 + o) * ho + i) * wo + j];
              worst = std::max(worst, std::fabs(got - static_cast<float>(acc)));
            }
      EXPECT_LT(worst, 1e-4f) << "stride " << stride << " padding " << padding;
    }
  Tensor y;
  conv2d(cpu(), x, w, Tensor(), 1, 1, y);  // no bias
  EXPECT_EQ(y.shape(), (Shape{2, 4, 9, 11}));
  EXPECT_THROW(conv2d(cpu(), x, Tensor({4, 2, 3, 3}), b, 1, 1, y), Error);
}

}  // namespace
}  // namespace voiceman::ops
