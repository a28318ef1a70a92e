// The built-in GEMMs (used without oneDNN or OpenBLAS) against a double-precision
// reference: every transpose combination, odd sizes around the 4 x 2 x 8 tiles and the
// 64-row blocks, padded leading dimensions, alpha/beta, and a NaN-filled C with beta 0.
// The int8 kernel against the exact int32 sums on shapes around its tiles, and the
// dispatched int8 GEMM on values that would saturate a 16-bit pair sum. The uniform GEMM
// (conv1d's) against the same reference around its 6 x 16 tiles, 48 x 64 blocks and
// 256-deep passes, and its bitwise-equal results for equal columns of B wherever they sit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
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

// Row i of A against row j of B, both k wide: the exact int32 sum.
int32_t dot(const std::vector<int8_t>& a, int i, const std::vector<int8_t>& b, int j, int k) {
  int32_t acc = 0;
  for (int p = 0; p < k; ++p)
    acc += a[static_cast<size_t>(i) * k + p] * b[static_cast<size_t>(j) * k + p];
  return acc;
}

struct Case {
  int m, n, k;
};

TEST(GemmPortable, MatchesADoubleReferenceInEveryLayout) {
  const Case cases[] = {{1, 1, 1},    {3, 5, 7},    {4, 2, 8},     {5, 3, 9},    {1, 51, 384},
                        {7, 130, 65}, {65, 66, 17}, {130, 9, 200}, {200, 70, 33}};
  uint32_t seed = 1;
  for (const Case& cs : cases)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const float beta : {0.f, 0.5f}) {
          const int m = cs.m, n = cs.n, k = cs.k;
          // Stored shapes and leading dimensions padded by 3 to catch stride mistakes.
          const int a_rows = ta ? k : m, a_cols = ta ? m : k, lda = a_cols + 3;
          const int b_rows = tb ? n : k, b_cols = tb ? k : n, ldb = b_cols + 3;
          const int ldc = n + 3;
          const auto a = random_values(static_cast<size_t>(a_rows) * lda, seed++);
          const auto b = random_values(static_cast<size_t>(b_rows) * ldb, seed++);
          std::vector<float> c = random_values(static_cast<size_t>(m) * ldc, seed++);
          if (beta == 0.f) std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
          const std::vector<float> c0 = c;
          const float alpha = 0.75f;
          sgemm_portable(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc,
                         3);
          double worst = 0;
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
              double want = 0;
              for (int p = 0; p < k; ++p) {
                const double av =
                    ta ? a[static_cast<size_t>(p) * lda + i] : a[static_cast<size_t>(i) * lda + p];
                const double bv =
                    tb ? b[static_cast<size_t>(j) * ldb + p] : b[static_cast<size_t>(p) * ldb + j];
                want += av * bv;
              }
              want *= alpha;
              if (beta != 0.f) want += beta * c0[static_cast<size_t>(i) * ldc + j];
              worst = std::max(worst, std::fabs(c[static_cast<size_t>(i) * ldc + j] - want));
            }
          EXPECT_LT(worst, 2e-6 * (k + 1))
              << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb << " beta=" << beta;
          // The padding of C is untouched.
          for (int i = 0; i < m; ++i)
            for (int j = n; j < ldc; ++j) {
              const size_t at = static_cast<size_t>(i) * ldc + j;
              ASSERT_TRUE(std::isnan(c0[at]) ? std::isnan(c[at]) : c[at] == c0[at]);
            }
        }
}

TEST(GemmPortable, Int8ProductsAreExact) {
  const int m = 7, n = 13, k = 301;  // k not a multiple of any vector width
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<int8_t> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(n) * k);
  for (auto& x : a) x = static_cast<int8_t>(q(rng));
  for (auto& x : b) x = static_cast<int8_t>(q(rng));
  std::vector<float> sa(m), sb(n);
  for (int i = 0; i < m; ++i) sa[i] = 10.f + static_cast<float>(i);
  for (int j = 0; j < n; ++j) sb[j] = 20.f + static_cast<float>(j);
  std::vector<float> c(static_cast<size_t>(m) * n);
  gemm_s8_portable(m, n, k, a.data(), sa.data(), b.data(), sb.data(), c.data(), 2);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      ASSERT_EQ(c[static_cast<size_t>(i) * n + j],
                static_cast<float>(dot(a, i, b, j, k)) / (sa[i] * sb[j]));
}

// The int8 kernels against the scalar int32 sum on shapes around their tiles: k below and
// around the 16-value steps, rows and columns past the 4 x 2 (and 3 x 3, 2 x 4, 1 x 4)
// tiles and the 64 x 64 blocks, the extremes -128 and 127 in long runs, several threads.
TEST(GemmPortable, Int8MatchesAScalarReferenceOnAwkwardShapes) {
  const Case cases[] = {{1, 1, 1},    {1, 9, 15},   {2, 5, 16},   {3, 7, 17},    {4, 2, 31},
                        {5, 3, 33},   {6, 11, 47},  {7, 4, 64},   {9, 13, 100},  {3, 130, 129},
                        {65, 67, 50}, {70, 9, 257}, {131, 66, 8}, {64, 129, 160}};
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> value(-128, 127), pick(0, 3);
  std::uniform_real_distribution<float> scale(0.01f, 300.f);
  for (const Case& cs : cases) {
    const int m = cs.m, n = cs.n, k = cs.k;
    std::vector<int8_t> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(n) * k);
    // A quarter of the values at each extreme, so some sums reach 32768 per pair.
    const auto draw = [&] {
      const int kind = pick(rng);
      return static_cast<int8_t>(kind == 0 ? -128 : kind == 1 ? 127 : value(rng));
    };
    for (auto& x : a) x = draw();
    for (auto& x : b) x = draw();
    std::fill_n(a.begin(), k, int8_t{-128});  // row 0 of A and of B all -128
    std::fill_n(b.begin(), k, int8_t{-128});
    if (n > 1) std::fill_n(b.begin() + k, k, int8_t{127});
    std::vector<float> sa(m), sb(n);
    for (float& x : sa) x = scale(rng);
    for (float& x : sb) x = scale(rng);
    for (const int threads : {1, 2, 3}) {
      std::vector<float> c(static_cast<size_t>(m) * n, std::numeric_limits<float>::quiet_NaN());
      gemm_s8_portable(m, n, k, a.data(), sa.data(), b.data(), sb.data(), c.data(), threads);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j)
          ASSERT_EQ(c[static_cast<size_t>(i) * n + j],
                    static_cast<float>(dot(a, i, b, j, k)) / (sa[i] * sb[j]))
              << m << "x" << n << "x" << k << " threads " << threads << " at " << i << "," << j;
    }
  }
}

// The int8 GEMM the ops call (oneDNN's where it is exact, else the built-in one) on the
// values that saturate a 16-bit pair sum (oneDNN without VNNI shifts A to u8: 255 x 127 x 2).
TEST(GemmS8, FullRangeProductsAreExactWhicheverLibraryRuns) {
  const int m = 5, n = 6, k = 64;
  std::vector<int8_t> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(n) * k);
  for (int i = 0; i < m; ++i)
    for (int p = 0; p < k; ++p) a[static_cast<size_t>(i) * k + p] = (i + p) % 3 ? 127 : -127;
  for (int j = 0; j < n; ++j)
    for (int p = 0; p < k; ++p) b[static_cast<size_t>(j) * k + p] = (j % 2) ? 127 : -127;
  const std::vector<float> sa(m, 2.f), sb(n, 4.f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  gemm_s8(m, n, k, a.data(), sa.data(), b.data(), sb.data(), c.data(), 2);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      ASSERT_EQ(c[static_cast<size_t>(i) * n + j], static_cast<float>(dot(a, i, b, j, k)) / 8.f)
          << "row " << i << " column " << j << " with " << int8_gemm_library();
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
