// The uniform GEMM (conv1d's): close to a double-precision reference on shapes around its
// 6 x 16 tiles, 48 x 64 blocks and 256-deep passes, and bitwise-equal results for equal
// columns of B wherever they sit (the property conv1d relies on).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::primitives::cpu {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(GemmUniform, MatchesADoubleReference) {
  struct Case {
    int m, n, k;
  };
  const Case cases[] = {{1, 1, 1},     {5, 15, 7},     {6, 16, 256}, {7, 17, 257},
                        {49, 65, 300}, {80, 130, 513}, {13, 200, 0}};
  uint32_t seed = 1;
  for (const Case& cs : cases) {
    const int m = cs.m, n = cs.n, k = cs.k;
    const int lda = k + 3, ldb = n + 5, ldc = n + 2;  // padded, to catch stride mistakes
    const auto a = random_values(static_cast<size_t>(m) * lda, seed++);
    const auto b = random_values(static_cast<size_t>(std::max(k, 1)) * ldb, seed++);
    std::vector<float> c(static_cast<size_t>(m) * ldc, 7.f);
    sgemm_uniform(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, 2);
    double worst = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double want = 0;
        for (int p = 0; p < k; ++p)
          want += double{a[static_cast<size_t>(i) * lda + p]} * b[static_cast<size_t>(p) * ldb + j];
        worst = std::max(worst, std::fabs(c[static_cast<size_t>(i) * ldc + j] - want));
      }
    EXPECT_LT(worst, 2e-6 * (k + 1)) << m << "x" << n << "x" << k;
    for (int i = 0; i < m; ++i)  // C's padding is untouched
      for (int j = n; j < ldc; ++j) ASSERT_EQ(c[static_cast<size_t>(i) * ldc + j], 7.f);
  }
}

TEST(GemmUniform, EqualColumnsGiveBitwiseEqualResults) {
  // A conv's shape (pyannote's sinc filterbank: 80 x 251 taps over 7975 steps), B's
  // columns all equal but a few, across tiles, blocks and the last narrow tile.
  const int m = 80, n = 7975, k = 251;
  const auto a = random_values(static_cast<size_t>(m) * k, 11);
  const auto column = random_values(k, 12);
  std::vector<float> b(static_cast<size_t>(k) * n);
  for (int p = 0; p < k; ++p) std::fill_n(b.begin() + static_cast<ptrdiff_t>(p) * n, n, column[p]);
  const auto odd = random_values(k, 13);
  for (const int j : {0, 17, 3987, 7974})
    for (int p = 0; p < k; ++p) b[static_cast<size_t>(p) * n + j] = odd[p];
  std::vector<float> c(static_cast<size_t>(m) * n);
  for (const int threads : {1, 2}) {
    sgemm_uniform(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads);
    for (int i = 0; i < m; ++i) {
      const float* row = c.data() + static_cast<size_t>(i) * n;
      for (int j = 0; j < n; ++j) {
        const int ref = (j == 0 || j == 17 || j == 3987 || j == 7974) ? 0 : 1;
        ASSERT_EQ(row[j], row[ref]) << "row " << i << " column " << j << " threads " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace voiceman::primitives::cpu
