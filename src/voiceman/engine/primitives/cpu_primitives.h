#pragma once
// Low-level CPU math used by the ops' CPU implementations. No tensors, no shapes:
// raw pointers and sizes, so the ops decide layouts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace voiceman::primitives::cpu {

// C[m x n] = alpha * op(A) * op(B) + beta * C, row-major. op(A) is m x k, op(B) is k x n.
// Multithreaded with `threads` threads (oneDNN or OpenBLAS when available).
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc, int threads);

// Which library does the CPU's GEMMs, with its version: "oneDNN 2.6.3", "OpenBLAS 0.3.21
// ..." or "built-in". int8 results depend on it (see the run manifest).
std::string gemm_library();
// Which does the int8 GEMMs: gemm_library(), or the built-in kernel where oneDNN's would
// saturate (a CPU without VNNI).
std::string int8_gemm_library();

// IEEE half / bfloat16 to float.
float half_to_float(uint16_t h);
float bf16_to_float(uint16_t h);
uint16_t float_to_half(float f);
// Round to nearest even, NaN stays NaN. Inline and branch-free so bulk loops vectorise.
inline uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  return static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40u : rounded);
}
void float_to_bf16(const float* src, uint16_t* dst, size_t n);
void half_to_float(const uint16_t* src, float* dst, size_t n);
void bf16_to_float(const uint16_t* src, float* dst, size_t n);

// Symmetric per-row int8 quantisation: q = round(x * scale), scale = 127 / max|row|.
void quantize_rows(const float* x, int rows, int cols, int8_t* q, float* scales);

// C[m x n] = dequant(A_q[m x k] * B_q[n x k]^T): int8 activations and int8 weights with
// per-row scales, int32 accumulation. Used by the int8 compute type.
void gemm_s8(int m, int n, int k, const int8_t* a, const float* a_scales, const int8_t* b,
             const float* b_scales, float* c, int threads);

// The built-in kernels behind sgemm and gemm_s8 where the build has neither oneDNN nor
// OpenBLAS (cpu_gemm_portable.cc). Always built, so the tests cover them in every build.
void sgemm_portable(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                    int lda, const float* b, int ldb, float beta, float* c, int ldc, int threads);
void gemm_s8_portable(int m, int n, int k, const int8_t* a, const float* a_scales, const int8_t* b,
                      const float* b_scales, float* c, int threads);

// C[m x n] = A[m x k] * B[k x n], row-major, every element by the same arithmetic wherever
// it sits (cpu_gemm_uniform.cc): equal columns of B give bitwise-equal columns of C.
void sgemm_uniform(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
                   int ldc, int threads);

}  // namespace voiceman::primitives::cpu
