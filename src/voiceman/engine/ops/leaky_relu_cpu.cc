#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

// In place: x = x >= 0 ? x : slope * x
void leaky_relu(const ExecContext& ctx, Tensor& x, float slope) {
  float* v = x.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0.f ? v[i] : v[i] * slope;
}

}  // namespace voiceman::ops::cpu
