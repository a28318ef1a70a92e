// The built-in GEMMs, for builds with neither oneDNN nor OpenBLAS (the lent GPU machine's
// CPU side, minimal builds), and the int8 one wherever oneDNN's is not exact (x86 without
// VNNI). Always compiled, so the CPU tests cover them everywhere. Every product is a
// row-by-row dot product over contiguous memory, in register tiles of 4 x 2 dot products;
// operands in other layouts are packed first.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/engine/primitives/simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

// The vector helpers are inlined into each target clone; the ABI note about returning
// 32-byte vectors from the baseline clone does not apply to them.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace voiceman::primitives::cpu {
namespace {

constexpr int kRowBlock = 64;  // rows of A per task: a 4-row strip stays in L1
constexpr int kColBlock = 64;  // rows of B per task: the block stays in L2

// Calls block(i0, i1, j0, j1) for every kRowBlock x kColBlock block of an m x n result,
// the blocks spread over `threads` threads (one thread for small products).
template <typename Block>
void for_each_block(int m, int n, int k, int threads, const Block& block) {
  const int row_blocks = (m + kRowBlock - 1) / kRowBlock;
  const int col_blocks = (n + kColBlock - 1) / kColBlock;
#pragma omp parallel for collapse(2) num_threads(std::max(1, threads)) \
    schedule(static) if (static_cast <int64_t>(m) * n * k > 32768)
  for (int cb = 0; cb < col_blocks; ++cb)
    for (int rb = 0; rb < row_blocks; ++rb)
      block(rb * kRowBlock, std::min(m, (rb + 1) * kRowBlock), cb * kColBlock,
            std::min(n, (cb + 1) * kColBlock));
}

inline float sum8(v8 v) {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

inline float scalar_dot(const float* x, const float* y, int from, int k) {
  float s = 0.f;
  for (int p = from; p < k; ++p) s += x[p] * y[p];
  return s;
}

// BLAS semantics: with beta == 0, C is not read (it may hold anything, NaN included).
inline void store(float* c, float alpha, float beta, float value) {
  *c = beta == 0.f ? alpha * value : alpha * value + beta * *c;
}

// C[i][j] = alpha * <A row i, B row j> + beta * C[i][j] for i in [i0, i1), j in [j0, j1).
VOICEMAN_MULTIVERSION void dot_block(const float* a, int lda, const float* b, int ldb, int k,
                                     float alpha, float beta, float* c, int ldc, int i0, int i1,
                                     int j0, int j1) {
  const int k8 = k & ~7;
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const float* a0 = a + static_cast<int64_t>(i) * lda;
    const float* a1 = a0 + lda;
    const float* a2 = a1 + lda;
    const float* a3 = a2 + lda;
    for (int j = j0; j < j1; j += 2) {
      const bool pair = j + 1 < j1;
      const float* b0 = b + static_cast<int64_t>(j) * ldb;
      const float* b1 = pair ? b0 + ldb : b0;
      v8 s00 = {}, s01 = {}, s10 = {}, s11 = {}, s20 = {}, s21 = {}, s30 = {}, s31 = {};
      for (int p = 0; p < k8; p += 8) {
        const v8 x0 = load8(a0 + p), x1 = load8(a1 + p), x2 = load8(a2 + p), x3 = load8(a3 + p);
        const v8 y0 = load8(b0 + p), y1 = load8(b1 + p);
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      const float* rows[4] = {a0, a1, a2, a3};
      const v8 sums[4][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}};
      for (int r = 0; r < 4; ++r) {
        float* crow = c + static_cast<int64_t>(i + r) * ldc + j;
        store(crow, alpha, beta, sum8(sums[r][0]) + scalar_dot(rows[r], b0, k8, k));
        if (pair) store(crow + 1, alpha, beta, sum8(sums[r][1]) + scalar_dot(rows[r], b1, k8, k));
      }
    }
  }
  for (; i < i1; ++i) {  // the last rows, one at a time
    const float* ar = a + static_cast<int64_t>(i) * lda;
    for (int j = j0; j < j1; ++j) {
      const float* br = b + static_cast<int64_t>(j) * ldb;
      v8 s = {};
      for (int p = 0; p < k8; p += 8) s += load8(ar + p) * load8(br + p);
      store(c + static_cast<int64_t>(i) * ldc + j, alpha, beta,
            sum8(s) + scalar_dot(ar, br, k8, k));
    }
  }
}

// rows x cols of src (row stride ld) transposed into a dense cols x rows buffer.
std::vector<float> transposed(const float* src, int rows, int cols, int ld, int threads) {
  std::vector<float> out(static_cast<size_t>(rows) * cols);
#pragma omp parallel for num_threads(threads) schedule(static) if (rows * cols > 65536)
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < rows; ++r)
      out[static_cast<size_t>(c) * rows + r] = src[static_cast<int64_t>(r) * ld + c];
  return out;
}

}  // namespace

void sgemm_portable(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                    int lda, const float* b, int ldb, float beta, float* c, int ldc, int threads) {
  if (m <= 0 || n <= 0) return;
  threads = std::max(1, threads);
  // Dot products want A as m rows of k and B as n rows of k.
  std::vector<float> a_rows, b_rows;
  if (trans_a) {  // A is stored k x m
    a_rows = transposed(a, k, m, lda, threads);
    a = a_rows.data();
    lda = k;
  }
  if (!trans_b) {  // B is stored k x n
    b_rows = transposed(b, k, n, ldb, threads);
    b = b_rows.data();
    ldb = k;
  }
  for_each_block(m, n, k, threads, [&](int i0, int i1, int j0, int j1) {
    dot_block(a, lda, b, ldb, k, alpha, beta, c, ldc, i0, i1, j0, j1);
  });
}

namespace {

// int32 dot product of two int8 rows.
inline int32_t dot_s8(const int8_t* x, const int8_t* y, int k) {
  int32_t acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int p = 0; p < k; ++p) acc += static_cast<int32_t>(x[p]) * static_cast<int32_t>(y[p]);
  return acc;
}

inline void store_s8(float* c, int n, const float* a_scales, const float* b_scales, int i, int j,
                     int32_t sum) {
  c[static_cast<int64_t>(i) * n + j] = static_cast<float>(sum) / (a_scales[i] * b_scales[j]);
}

// Rows [i0, i1) of A against rows [j0, j1) of B, 4 x 2 dot products at a time so each
// loaded row serves several products. The fallback for CPUs without AVX2 and for aarch64.
VOICEMAN_MULTIVERSION void dot_block_s8(const int8_t* a, const float* a_scales, const int8_t* b,
                                        const float* b_scales, float* c, int n, int k, int i0,
                                        int i1, int j0, int j1) {
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const int8_t* a0 = a + static_cast<int64_t>(i) * k;
    const int8_t* a1 = a0 + k;
    const int8_t* a2 = a1 + k;
    const int8_t* a3 = a2 + k;
    int j = j0;
    for (; j + 2 <= j1; j += 2) {
      const int8_t* b0 = b + static_cast<int64_t>(j) * k;
      const int8_t* b1 = b0 + k;
      int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
#pragma omp simd reduction(+ : s00, s01, s10, s11, s20, s21, s30, s31)
      for (int p = 0; p < k; ++p) {
        const auto y0 = int32_t{b0[p]}, y1 = int32_t{b1[p]};
        const auto x0 = int32_t{a0[p]}, x1 = int32_t{a1[p]};
        const auto x2 = int32_t{a2[p]}, x3 = int32_t{a3[p]};
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      const int32_t sums[4][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}};
      for (int r = 0; r < 4; ++r)
        for (int q = 0; q < 2; ++q) store_s8(c, n, a_scales, b_scales, i + r, j + q, sums[r][q]);
    }
    for (; j < j1; ++j)
      for (int r = 0; r < 4; ++r)
        store_s8(c, n, a_scales, b_scales, i + r, j,
                 dot_s8(a + static_cast<int64_t>(i + r) * k, b + static_cast<int64_t>(j) * k, k));
  }
  for (; i < i1; ++i)
    for (int j = j0; j < j1; ++j)
      store_s8(c, n, a_scales, b_scales, i, j,
               dot_s8(a + static_cast<int64_t>(i) * k, b + static_cast<int64_t>(j) * k, k));
}

#if defined(__x86_64__) && defined(__GNUC__)
// x86: int8 widened to int16 and multiplied with vpmaddwd, which adds each pair of
// int16 x int16 products into an int32 lane: exact for every int8 value, -128 included
// (vpmaddubsw would saturate the 16-bit pair sum). GCC's own vectorisation of
// dot_block_s8 widens to int32 (vpmovsxbd + vpmulld), at a third of this speed.
#define VOICEMAN_AVX2 __attribute__((target("avx2")))

VOICEMAN_AVX2 inline __m256i load16(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

VOICEMAN_AVX2 inline __m256i load16(const int16_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The horizontal sums of s0..s3, in lanes 0..3.
VOICEMAN_AVX2 inline __m128i hsum4(__m256i s0, __m256i s1, __m256i s2, __m256i s3) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// Rows [i, i + R) of A (a_rows: row i, int8 or widened) against rows [j0, j1) of B
// (b_rows: row j0), R x C dot products at a time, 16 values a step; the last columns R x 1.
template <int R, int C, typename TA, typename TB>
VOICEMAN_AVX2 void strip_avx2(const TA* a_rows, const TB* b_rows, const float* a_scales,
                              const float* b_scales, float* c, int n, int k, int i, int j0,
                              int j1) {
  const int k16 = k & ~15;
  int j = j0;
  for (; j < j1; j += C) {
    const TB* y = b_rows + static_cast<int64_t>(j - j0) * k;
    if (j + C > j1) {  // fewer than C columns left
      if constexpr (C > 1) strip_avx2<R, 1>(a_rows, y, a_scales, b_scales, c, n, k, i, j, j1);
      return;
    }
    __m256i acc[R * C];
    for (auto& s : acc) s = _mm256_setzero_si256();
    for (int p = 0; p < k16; p += 16) {
      __m256i x[R];
      for (int r = 0; r < R; ++r) x[r] = load16(a_rows + static_cast<int64_t>(r) * k + p);
      for (int q = 0; q < C; ++q) {
        const __m256i yq = load16(y + static_cast<int64_t>(q) * k + p);
        for (int r = 0; r < R; ++r)
          acc[r * C + q] = _mm256_add_epi32(acc[r * C + q], _mm256_madd_epi16(x[r], yq));
      }
    }
    // Four horizontal sums at a time; lanes past R * C are unused.
    constexpr int kGroups = (R * C + 3) / 4;
    alignas(16) int32_t sums[kGroups * 4];
    for (int g = 0; g < kGroups; ++g) {
      __m256i part[4];
      for (int u = 0; u < 4; ++u)
        part[u] = 4 * g + u < R * C ? acc[4 * g + u] : _mm256_setzero_si256();
      _mm_store_si128(reinterpret_cast<__m128i*>(sums + 4 * g),
                      hsum4(part[0], part[1], part[2], part[3]));
    }
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < C; ++q) {
        const TA* xr = a_rows + static_cast<int64_t>(r) * k;
        const TB* yq = y + static_cast<int64_t>(q) * k;
        int32_t sum = sums[r * C + q];
        for (int p = k16; p < k; ++p) sum += static_cast<int32_t>(xr[p]) * yq[p];
        store_s8(c, n, a_scales, b_scales, i + r, j + q, sum);
      }
  }
}

// `rows` rows of k int8 values widened to int16, into `out`.
VOICEMAN_AVX2 void widen_rows(const int8_t* src, int rows, int k, std::vector<int16_t>& out) {
  const int64_t count = static_cast<int64_t>(rows) * k;
  out.resize(static_cast<size_t>(count));
  int64_t p = 0;
  for (; p + 16 <= count; p += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.data() + p), load16(src + p));
  for (; p < count; ++p) out[p] = int16_t{src[p]};
}

// The block's B rows are widened to int16 once, and its A rows four at a time, so the inner
// loop only loads and multiplies: a fifth faster than widening at every load (AVX2 EPYC).
// Tiles of 4 x 2 (four A rows, two B rows and 8 accumulators in the 16 registers); the
// last rows in 3 x 3, 2 x 4 or 1 x 4.
VOICEMAN_AVX2 void dot_block_s8_avx2(const int8_t* a, const float* a_scales, const int8_t* b,
                                     const float* b_scales, float* c, int n, int k, int i0, int i1,
                                     int j0, int j1) {
  const int8_t* b_rows = b + static_cast<int64_t>(j0) * k;
  if (i1 - i0 == 1) {  // one row (greedy decoding): B read once, in order, is fastest
    strip_avx2<1, 1>(a + static_cast<int64_t>(i0) * k, b_rows, a_scales, b_scales, c, n, k, i0, j0,
                     j1);
    return;
  }
  // Per thread, kept between blocks: no allocation per block.
  thread_local std::vector<int16_t> a16, b16;
  widen_rows(b_rows, j1 - j0, k, b16);
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    widen_rows(a + static_cast<int64_t>(i) * k, 4, k, a16);
    strip_avx2<4, 2>(a16.data(), b16.data(), a_scales, b_scales, c, n, k, i, j0, j1);
  }
  const int8_t* a_rows = a + static_cast<int64_t>(i) * k;
  if (i1 - i == 3)
    strip_avx2<3, 3>(a_rows, b16.data(), a_scales, b_scales, c, n, k, i, j0, j1);
  else if (i1 - i == 2)
    strip_avx2<2, 4>(a_rows, b16.data(), a_scales, b_scales, c, n, k, i, j0, j1);
  else if (i1 - i == 1)
    strip_avx2<1, 4>(a_rows, b16.data(), a_scales, b_scales, c, n, k, i, j0, j1);
}
#undef VOICEMAN_AVX2
#endif  // __x86_64__ && __GNUC__

using DotBlockS8 = void (*)(const int8_t*, const float*, const int8_t*, const float*, float*, int,
                            int, int, int, int, int);

// The fastest exact kernel this CPU runs, chosen once.
DotBlockS8 dot_block_s8_kernel() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return dot_block_s8_avx2;
#endif
  return dot_block_s8;
}

}  // namespace

void gemm_s8_portable(int m, int n, int k, const int8_t* a, const float* a_scales, const int8_t* b,
                      const float* b_scales, float* c, int threads) {
  static const DotBlockS8 kernel = dot_block_s8_kernel();
  for_each_block(m, n, k, threads, [&](int i0, int i1, int j0, int j1) {
    kernel(a, a_scales, b, b_scales, c, n, k, i0, i1, j0, j1);
  });
}

}  // namespace voiceman::primitives::cpu
