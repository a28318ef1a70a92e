#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

constexpr int kThreads = 256;

// y[r, t] = max_k x[r, t * stride + k]
template <typename T>
__global__ void max_pool1d_kernel(const T* x, int64_t rows, int64_t t_in, int64_t t_out, int kernel,
                                  int stride, T* y) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < rows * t_out;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / t_out, t = i % t_out;
    const T* w = x + r * t_in + t * stride;
    float m = prim::to_float(w[0]);
    for (int k = 1; k < kernel; ++k) {  // a NaN in the window is the result, as in torch
      const float v = prim::to_float(w[k]);
      m = v > m || isnan(v) ? v : m;
    }
    y[i] = prim::from_float<T>(m);
  }
}

}  // namespace

void max_pool1d(const ExecContext& ctx, const Tensor& x, int kernel, int stride, Tensor& y) {
  enter(ctx, "max_pool1d", {&x, &y});
  const int64_t rows = x.dim(0) * x.dim(1), t_in = x.dim(2), t_out = y.dim(2);
  if (!rows || !t_out) return;
  prim::with_float_type(x.dtype(), "max_pool1d", [&](auto tag) {
    using T = decltype(tag);
    max_pool1d_kernel<T>
        <<<prim::grid_for(rows * t_out, kThreads), kThreads, 0, voiceman::cuda::stream_of(ctx)>>>(
            x.data<T>(), rows, t_in, t_out, kernel, stride, y.data<T>());
  });
  voiceman::cuda::check_launch("max_pool1d");
}

}  // namespace voiceman::ops::cuda
