#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

// One (batch, channel) row at a time; two-pass mean and biased variance in double, as
// torch's InstanceNorm1d (its statistics are float32 but accumulate without cancellation).
void instance_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   float eps, Tensor& y) {
  const int64_t channels = x.dim(1), t = x.dim(2), rows = x.dim(0) * channels;
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const float* g = gamma.data<float>();
  const float* b = beta.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (rows * t > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in + r * t;
    float* yr = out + r * t;
    double sum = 0;
    for (int64_t i = 0; i < t; ++i) sum += xr[i];
    const double mean = t ? sum / t : 0;
    double sq = 0;
    for (int64_t i = 0; i < t; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const double inv = 1.0 / std::sqrt((t ? sq / t : 0) + eps);
    const int64_t c = r % channels;
    // (x - mean) first: folding the mean into a shift cancels badly for large means.
    const float m = static_cast<float>(mean), scale = static_cast<float>(inv * g[c]);
    for (int64_t i = 0; i < t; ++i) yr[i] = (xr[i] - m) * scale + b[c];
  }
}

}  // namespace voiceman::ops::cpu
