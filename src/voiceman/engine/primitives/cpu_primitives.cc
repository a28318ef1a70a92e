#include "voiceman/engine/primitives/cpu_primitives.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "voiceman/engine/primitives/simd.h"

#ifdef VOICEMAN_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef VOICEMAN_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int num_threads);
extern "C" char* openblas_get_config();
#endif

namespace voiceman::primitives::cpu {

namespace {

#if defined(VOICEMAN_HAVE_DNNL)
void library_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc, int threads) {
  omp_set_num_threads(std::max(1, threads));  // oneDNN runs on the caller's OpenMP pool
  if (dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c,
                 ldc) != dnnl_success)
    throw std::runtime_error("oneDNN sgemm failed");
}
#elif defined(VOICEMAN_HAVE_OPENBLAS)
void library_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc, int threads) {
  openblas_set_num_threads(std::max(1, threads));
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#else
void library_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc, int threads) {
  sgemm_portable(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
}
#endif

// What BLAS means by the sizes libraries refuse (oneDNN and OpenBLAS check each ld
// against max(1, ...)): no rows or columns, nothing to write; no depth, C = beta C.
bool degenerate_gemm(int m, int n, int k, float beta, float* c, int ldc) {
  if (m > 0 && n > 0 && k > 0) return false;
  for (int i = 0; i < m && n > 0; ++i)
    for (int j = 0; j < n; ++j) {
      float& v = c[static_cast<int64_t>(i) * ldc + j];
      v = beta == 0.f ? 0.f : beta * v;  // beta 0 overwrites, as BLAS does, NaNs included
    }
  return true;
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc, int threads) {
  if (degenerate_gemm(m, n, k, beta, c, ldc)) return;
  library_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
}

std::string gemm_library() {
#if defined(VOICEMAN_HAVE_DNNL)
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
#elif defined(VOICEMAN_HAVE_OPENBLAS)
  return openblas_get_config();
#else
  return "built-in";
#endif
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200 : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    const int shift = 14 - exp;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // round to nearest even
  return static_cast<uint16_t>(half);
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

VOICEMAN_MULTIVERSION void float_to_bf16(const float* src, uint16_t* dst, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) dst[i] = float_to_bf16(src[i]);
}

void half_to_float(const uint16_t* src, float* dst, size_t n) {
  // A 256 KiB table turns the per-element bit fiddling into one load (model loading).
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = half_to_float(static_cast<uint16_t>(h));
    return t;
  }();
  for (size_t i = 0; i < n; ++i) dst[i] = table[src[i]];
}

void bf16_to_float(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_float(src[i]);
}

VOICEMAN_MULTIVERSION void quantize_rows(const float* x, int rows, int cols, int8_t* q,
                                         float* scales) {
  for (int r = 0; r < rows; ++r) {
    const float* row = x + static_cast<int64_t>(r) * cols;
    float amax = 0.f;
    for (int c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(row[c]));
    const float scale = amax > 0.f ? 127.f / amax : 1.f;
    scales[r] = scale;
    int8_t* out = q + static_cast<int64_t>(r) * cols;
    for (int c = 0; c < cols; ++c) out[c] = static_cast<int8_t>(std::nearbyint(row[c] * scale));
  }
}

#ifdef VOICEMAN_HAVE_DNNL
namespace {
// Without VNNI, oneDNN's int8 GEMM adds pairs of u8 x s8 products in 16 bits (vpmaddubsw),
// which saturates on full-range int8 activations: on such CPUs (AVX2 or AVX-512 without
// VNNI) the built-in kernel's exact int32 sums are used instead.
bool dnnl_int8_is_exact() {
  static const bool exact = [] {
    const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
    const auto has = [isa](dnnl_cpu_isa_t set) {
      return (isa & static_cast<unsigned>(set)) == static_cast<unsigned>(set);
    };
    return has(dnnl_cpu_isa_avx512_core_vnni) || has(dnnl_cpu_isa_avx2_vnni);
  }();
  return exact;
}
}  // namespace
#endif

std::string int8_gemm_library() {
#ifdef VOICEMAN_HAVE_DNNL
  if (dnnl_int8_is_exact()) return gemm_library();
  return "built-in (oneDNN's int8 GEMM saturates without VNNI)";
#else
  return "built-in";
#endif
}

void gemm_s8(int m, int n, int k, const int8_t* a, const float* a_scales, const int8_t* b,
             const float* b_scales, float* c, int threads) {
  if (degenerate_gemm(m, n, k, 0.f, c, n)) return;
#ifdef VOICEMAN_HAVE_DNNL
  if (dnnl_int8_is_exact()) {
    std::vector<int32_t> acc(static_cast<size_t>(m) * n);
    const int32_t zero = 0;
    omp_set_num_threads(std::max(1, threads));
    if (dnnl_gemm_s8s8s32('N', 'T', 'F', m, n, k, 1.f, a, k, 0, b, k, 0, 0.f, acc.data(), n,
                          &zero) != dnnl_success)
      throw std::runtime_error("oneDNN s8s8s32 gemm failed");
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(static) if (m * n > 16384)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j)
        c[static_cast<int64_t>(i) * n + j] =
            static_cast<float>(acc[static_cast<size_t>(i) * n + j]) / (a_scales[i] * b_scales[j]);
    return;
  }
#endif
  gemm_s8_portable(m, n, k, a, a_scales, b, b_scales, c, threads);
}

}  // namespace voiceman::primitives::cpu
