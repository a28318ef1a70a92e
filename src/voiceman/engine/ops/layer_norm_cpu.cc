#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/simd.h"

namespace voiceman::ops::cpu {

VOICEMAN_MULTIVERSION void layer_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma,
                                      const Tensor& beta, float eps, Tensor& y) {
  const int64_t d = x.dim(-1);
  const int64_t rows = x.numel() / d;
  const float* in = x.data<float>();
  const float* g = gamma.data<float>();
  const float* b = beta.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (rows > 64)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in + r * d;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < d; ++i) sum += xr[i];
    const double mean = sum / d;
    for (int64_t i = 0; i < d; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / d + eps));
    float* yr = out + r * d;
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - static_cast<float>(mean)) * inv * g[i] + b[i];
  }
}

}  // namespace voiceman::ops::cpu
