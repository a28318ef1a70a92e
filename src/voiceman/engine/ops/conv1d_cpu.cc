#include <vector>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops::cpu {

// im2col + one GEMM per batch item: [Cout, Cin*K] x [Cin*K, Tout].
void conv1d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y) {
  const int64_t batch = x.dim(0), cin = x.dim(1), t_in = x.dim(2);
  const int64_t cout = w.dim(0), kernel = w.dim(2), t_out = y.dim(2);
  std::vector<float> cols(static_cast<size_t>(cin * kernel * t_out));
  for (int64_t n = 0; n < batch; ++n) {
    const float* xn = x.data<float>() + n * cin * t_in;
#pragma omp parallel for num_threads(ctx.threads) schedule(static)
    for (int64_t c = 0; c < cin; ++c) {
      for (int64_t k = 0; k < kernel; ++k) {
        float* dst = cols.data() + (c * kernel + k) * t_out;
        for (int64_t t = 0; t < t_out; ++t) {
          const int64_t src = t * stride + k - padding;
          dst[t] = (src >= 0 && src < t_in) ? xn[c * t_in + src] : 0.f;
        }
      }
    }
    float* yn = y.data<float>() + n * cout * t_out;
    primitives::cpu::sgemm(false, false, static_cast<int>(cout), static_cast<int>(t_out),
                           static_cast<int>(cin * kernel), 1.f, w.data<float>(),
                           static_cast<int>(cin * kernel), cols.data(), static_cast<int>(t_out),
                           0.f, yn, static_cast<int>(t_out), ctx.threads);
    const float* bias = b.data<float>();
    for (int64_t c = 0; c < cout; ++c)
      for (int64_t t = 0; t < t_out; ++t) yn[c * t_out + t] += bias[c];
  }
}

void transpose_last2(const ExecContext& ctx, const Tensor& x, Tensor& y) {
  const int64_t batch = x.dim(0), m = x.dim(1), n = x.dim(2);
  for (int64_t b = 0; b < batch; ++b) {
    const float* src = x.data<float>() + b * m * n;
    float* dst = y.data<float>() + b * m * n;
#pragma omp parallel for num_threads(ctx.threads) schedule(static)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) dst[j * m + i] = src[i * n + j];
  }
}

}  // namespace voiceman::ops::cpu
