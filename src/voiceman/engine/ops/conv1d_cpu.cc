#include <algorithm>
#include <vector>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops::cpu {

// im2col + one GEMM per batch item: [Cout, Cin*K] x [Cin*K, Tout], with a GEMM that
// computes every output step by the same arithmetic. BLAS libraries do not: oneDNN's AVX2
// sgemm rounds the last columns of each block differently, so equal input windows (the
// zero padding of a recording's last window, digital silence) gave unequal outputs, and
// the instance norm of a near-constant channel (pyannote's SincNet) grew those last-bit
// differences into errors of order one.
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
        // Output steps whose input t * stride + k - padding lies inside [0, t_in): the
        // rest is zero padding, so the copy in between needs no bounds check.
        const int64_t shift = k - padding;
        const int64_t lo =
            std::clamp<int64_t>(shift >= 0 ? 0 : (-shift + stride - 1) / stride, 0, t_out);
        const int64_t hi =
            std::clamp<int64_t>(t_in - shift <= 0 ? 0 : (t_in - shift - 1) / stride + 1, lo, t_out);
        std::fill(dst, dst + lo, 0.f);
        std::fill(dst + hi, dst + t_out, 0.f);
        const float* row = xn + c * t_in;
        if (hi > lo && stride == 1)
          std::copy(row + lo + shift, row + hi + shift, dst + lo);
        else
          for (int64_t t = lo; t < hi; ++t) dst[t] = row[t * stride + shift];
      }
    }
    float* yn = y.data<float>() + n * cout * t_out;
    primitives::cpu::sgemm_uniform(
        static_cast<int>(cout), static_cast<int>(t_out), static_cast<int>(cin * kernel),
        w.data<float>(), static_cast<int>(cin * kernel), cols.data(), static_cast<int>(t_out), yn,
        static_cast<int>(t_out), ctx.threads);
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
