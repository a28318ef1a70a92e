#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

void max_pool1d(const ExecContext& ctx, const Tensor& x, int kernel, int stride, Tensor& y) {
  const int64_t rows = x.dim(0) * x.dim(1), t_in = x.dim(2), t_out = y.dim(2);
  const float* in = x.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (rows * t_out > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < t_out; ++t) {
      const float* w = in + r * t_in + t * stride;
      float m = w[0];
      // A NaN in the window is the result, as in torch's max_pool1d (and on the GPU).
      for (int k = 1; k < kernel; ++k) m = w[k] > m || std::isnan(w[k]) ? w[k] : m;
      out[r * t_out + t] = m;
    }
}

}  // namespace voiceman::ops::cpu
