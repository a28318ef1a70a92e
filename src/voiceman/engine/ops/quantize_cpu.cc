#include <algorithm>
#include <cmath>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out) {
  const int64_t rows = x.dim(0), width = x.dim(1), dh = width / num_heads;
  float* xs = x.data<float>();
  int8_t* data = out.data.data<int8_t>();
  float* scales = out.scales.data<float>();
#pragma omp parallel for num_threads(ctx.threads) if (rows * width > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < num_heads; ++h) {
      float* xh = xs + r * width + h * dh;
      int8_t* qh = data + r * width + h * dh;
      float peak = 0.f;
      for (int64_t i = 0; i < dh; ++i) peak = std::max(peak, std::fabs(xh[i]));
      // Division, and rounding to nearest even (the default mode), as the GPU's rintf.
      const float scale = peak > 0.f ? peak / 127.f : 1.f;
      for (int64_t i = 0; i < dh; ++i) {
        const float level = std::clamp(std::nearbyint(xh[i] / scale), -127.f, 127.f);
        qh[i] = static_cast<int8_t>(level);
        xh[i] = level * scale;
      }
      scales[r * num_heads + h] = scale;
    }
  }
}

}  // namespace voiceman::ops::cpu
