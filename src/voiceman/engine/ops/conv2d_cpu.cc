#include <vector>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops::cpu {

// im2col + one GEMM per batch item: [Cout, Cin*KH*KW] x [Cin*KH*KW, Hout*Wout].
void conv2d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y) {
  const int64_t batch = x.dim(0), cin = x.dim(1), h_in = x.dim(2), w_in = x.dim(3);
  const int64_t cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const int64_t h_out = y.dim(2), w_out = y.dim(3), plane = h_out * w_out;
  const int64_t k = cin * kh * kw;
  std::vector<float> cols(static_cast<size_t>(k * plane));
  for (int64_t n = 0; n < batch; ++n) {
    const float* xn = x.data<float>() + n * cin * h_in * w_in;
#pragma omp parallel for num_threads(ctx.threads) schedule(static)
    for (int64_t row = 0; row < k; ++row) {
      const int64_t c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
      float* dst = cols.data() + row * plane;
      for (int64_t oh = 0; oh < h_out; ++oh) {
        const int64_t ih = oh * stride + i - padding;
        for (int64_t ow = 0; ow < w_out; ++ow) {
          const int64_t iw = ow * stride + j - padding;
          dst[oh * w_out + ow] = (ih >= 0 && ih < h_in && iw >= 0 && iw < w_in)
                                     ? xn[(c * h_in + ih) * w_in + iw]
                                     : 0.f;
        }
      }
    }
    float* yn = y.data<float>() + n * cout * plane;
    primitives::cpu::sgemm(false, false, static_cast<int>(cout), static_cast<int>(plane),
                           static_cast<int>(k), 1.f, w.data<float>(), static_cast<int>(k),
                           cols.data(), static_cast<int>(plane), 0.f, yn, static_cast<int>(plane),
                           ctx.threads);
    if (!b.empty())
      for (int64_t c = 0; c < cout; ++c)
        for (int64_t p = 0; p < plane; ++p) yn[c * plane + p] += b.data<float>()[c];
  }
}

}  // namespace voiceman::ops::cpu
