#pragma once
// GEMMs on CUDA devices through cuBLAS/cuBLASLt, with the CPU primitives' row-major
// conventions. Raw device pointers, no shapes: the ops decide layouts. Only in builds
// with VOICEMAN_CUDA (gemm_cuda.cc).
#include <cstdint>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"

namespace voiceman::primitives::cuda {

// Batched row-major C_i[m x n] = alpha * op(A_i) * op(B_i) + beta * C_i, i < batch, with
// X_i = X + i * stride_x elements. A and B share a dtype (f32, f16 or bf16); C is that
// dtype or f32. Accumulation is always float32 (no TF32 for f32 inputs).
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.f, beta = 0.f;
  const void* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int batch = 1;
  DType ab_type = DType::f32;
  DType c_type = DType::f32;
};
void gemm(const ExecContext& ctx, const GemmArgs& args);

// y[m x n] = x[m x k] * w[n x k]^T (+ bias[n]) (+ y with accumulate) in one cuBLASLt
// call with the bias in the epilogue. x, w, y and bias share a float dtype. Returns false
// (nothing written) when cuBLASLt offers no algorithm for this problem; the caller then
// falls back to gemm().
bool linear_lt(const ExecContext& ctx, int m, int n, int k, const void* x, const void* w,
               const void* bias, void* y, DType dtype, bool accumulate = false);

// acc[m x n] = a[m x k] * b[n x k]^T in int32 from int8 operands (IMMA tensor cores).
// Returns false when cuBLAS does not support the shape (k, the leading dimension of both
// operands, not a multiple of 4); n and m are free.
bool gemm_s8(const ExecContext& ctx, int m, int n, int k, const int8_t* a, const int8_t* b,
             int32_t* acc);

}  // namespace voiceman::primitives::cuda
