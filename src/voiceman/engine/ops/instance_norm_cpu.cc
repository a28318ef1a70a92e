#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/simd.h"

namespace voiceman::ops::cpu {

namespace {

// One row: two-pass mean and biased variance in double, as torch's InstanceNorm1d (its
// statistics are float32 but accumulate without cancellation). The double sums run in
// SIMD lanes: a strictly ordered double sum cannot vectorise and was latency-bound (the
// segmentation model normalises 80 rows of 2666 values per window).
VOICEMAN_MULTIVERSION void normalize_row(const float* __restrict xr, float* __restrict yr,
                                         int64_t t, float eps, float gamma, float beta) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < t; ++i) sum += xr[i];
  const double mean = t ? sum / static_cast<double>(t) : 0;
  double sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < t; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
  const double inv = 1.0 / std::sqrt((t ? sq / static_cast<double>(t) : 0) + eps);
  // (x - mean) first: folding the mean into a shift cancels badly for large means.
  const float m = static_cast<float>(mean), scale = static_cast<float>(inv * gamma);
#pragma omp simd
  for (int64_t i = 0; i < t; ++i) yr[i] = (xr[i] - m) * scale + beta;
}

}  // namespace

void instance_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   float eps, Tensor& y) {
  const int64_t channels = x.dim(1), t = x.dim(2), rows = x.dim(0) * channels;
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const float* g = gamma.data<float>();
  const float* b = beta.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (rows * t > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    normalize_row(in + r * t, out + r * t, t, eps, g[r % channels], b[r % channels]);
}

}  // namespace voiceman::ops::cpu
