#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

void relu(const ExecContext& ctx, Tensor& x) {
  float* v = x.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) v[i] = v[i] > 0.f ? v[i] : 0.f;
}

void sigmoid(const ExecContext& ctx, Tensor& x) {
  float* v = x.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) v[i] = 1.f / (1.f + std::exp(-v[i]));
}

void complex_magnitude(const ExecContext& ctx, const Tensor& x, Tensor& y) {
  const int64_t f = y.dim(-1);
  const int64_t rows = f ? y.numel() / f : 0;
  const float* in = x.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (rows > 256)
  for (int64_t r = 0; r < rows; ++r) {
    const float* re = in + r * 2 * f;
    const float* im = re + f;
    for (int64_t j = 0; j < f; ++j) out[r * f + j] = std::sqrt(re[j] * re[j] + im[j] * im[j]);
  }
}

}  // namespace voiceman::ops::cpu
