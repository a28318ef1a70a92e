#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/fast_math.h"
#include "voiceman/engine/primitives/simd.h"

namespace voiceman::ops::cpu {

VOICEMAN_MULTIVERSION void gelu(const ExecContext& ctx, Tensor& x) {
  float* p = x.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) p[i] = 0.5f * p[i] * (1.f + primitives::fast_erf(p[i] * 0.70710678118654752f));
}

void add(const ExecContext& ctx, Tensor& x, const Tensor& y) {
  float* p = x.data<float>();
  const float* q = y.data<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) p[i] += q[i];
}

}  // namespace voiceman::ops::cpu
