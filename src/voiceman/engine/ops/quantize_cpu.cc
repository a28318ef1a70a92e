#include <algorithm>
#include <cmath>

#include "voiceman/core/errors.h"
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
      for (int64_t i = 0; i < dh; ++i)
        if (std::isfinite(xh[i])) peak = std::max(peak, std::fabs(xh[i]));
      // Division, and rounding to nearest even (the default mode), as the GPU's rintf.
      const float scale = peak > 0.f ? peak / 127.f : 1.f;
      for (int64_t i = 0; i < dh; ++i) {
        // NaN stores 0 and infinities saturate (ops.h): no float-to-int of a NaN.
        const float level =
            std::isnan(xh[i]) ? 0.f : std::clamp(std::nearbyint(xh[i] / scale), -127.f, 127.f);
        qh[i] = static_cast<int8_t>(level);
        xh[i] = static_cast<float>(qh[i]) * scale;  // dequantize_heads' bits (no -0)
      }
      scales[r * num_heads + h] = scale;
    }
  }
}

void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y) {
  if (dtype != DType::f32) throw Error("dequantize_heads: the CPU writes float32");
  const int64_t rows = q.data.dim(0), width = q.data.dim(1), heads = q.scales.dim(1);
  const int64_t dh = width / heads;
  const int8_t* data = q.data.data<int8_t>();
  const float* scales = q.scales.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for num_threads(ctx.threads) if (rows * width > 65536)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < width; ++i)
      out[r * width + i] = static_cast<float>(data[r * width + i]) * scales[r * heads + i / dh];
}

}  // namespace voiceman::ops::cpu
