#include <cmath>
#include <cstring>

#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/engine/primitives/fast_math.h"
#include "voiceman/engine/primitives/simd.h"

namespace voiceman::ops::cpu {

VOICEMAN_MULTIVERSION void gelu(const ExecContext& ctx, Tensor& x) {
  float* p = x.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i)
    p[i] = 0.5f * p[i] * (1.f + primitives::fast_erf(p[i] * 0.70710678118654752f));
}

void add(const ExecContext& ctx, Tensor& x, const Tensor& y) {
  float* p = x.data<float>();
  const float* q = y.data<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) p[i] += q[i];
}

void cast(const ExecContext& ctx, const Tensor& x, DType dtype, Tensor& y) {
  namespace prim = primitives::cpu;
  const int64_t n = x.numel();
  const DType from = x.dtype();
  if (from == dtype) {
    if (n) std::memcpy(y.data<char>(), x.data<char>(), x.bytes());
  } else if (from == DType::f32 && dtype == DType::f16) {
    for (int64_t i = 0; i < n; ++i) y.data<uint16_t>()[i] = prim::float_to_half(x.data<float>()[i]);
  } else if (from == DType::f32 && dtype == DType::bf16) {
    prim::float_to_bf16(x.data<float>(), y.data<uint16_t>(), static_cast<size_t>(n));
  } else if (from == DType::f16 && dtype == DType::f32) {
    prim::half_to_float(x.data<uint16_t>(), y.data<float>(), static_cast<size_t>(n));
  } else if (from == DType::bf16 && dtype == DType::f32) {
    prim::bf16_to_float(x.data<uint16_t>(), y.data<float>(), static_cast<size_t>(n));
  } else {
    throw Error("cast: " + dtype_name(from) + " to " + dtype_name(dtype) +
                " is not supported on cpu");
  }
}

}  // namespace voiceman::ops::cpu
