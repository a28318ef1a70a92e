#include <algorithm>
#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

void softmax(const ExecContext& ctx, Tensor& x, bool log) {
  const int64_t d = x.dim(-1);
  const int64_t rows = x.numel() / d;
  float* data = x.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (rows > 16)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = data + r * d;
    const float mx = *std::max_element(row, row + d);
    double sum = 0;
    for (int64_t i = 0; i < d; ++i) sum += std::exp(row[i] - mx);
    if (log) {
      const float lse = mx + static_cast<float>(std::log(sum));
      for (int64_t i = 0; i < d; ++i) row[i] -= lse;
    } else {
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t i = 0; i < d; ++i) row[i] = std::exp(row[i] - mx) * inv;
    }
  }
}

}  // namespace voiceman::ops::cpu
