#include <algorithm>

#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_gemm.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;
using voiceman::cuda::check_launch;
using voiceman::cuda::stream_of;

namespace {

constexpr int kThreads = 256;
constexpr int64_t kColumnBytes = int64_t{256} << 20;  // im2col scratch per chunk of batch

// cols[n][(c * kh + i) * kw + j][oh * w_out + ow] = x[n][c][oh*s + i - p][ow*s + j - p]
template <typename T>
__global__ void im2col2d_kernel(const T* x, int64_t batch, int64_t cin, int64_t h_in, int64_t w_in,
                                int64_t kh, int64_t kw, int64_t h_out, int64_t w_out, int stride,
                                int padding, T* cols) {
  const int64_t plane = h_out * w_out, k = cin * kh * kw, total = batch * k * plane;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t p = idx % plane, row = (idx / plane) % k, n = idx / (plane * k);
    const int64_t c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
    const int64_t ih = (p / w_out) * stride + i - padding, iw = (p % w_out) * stride + j - padding;
    cols[idx] = (ih >= 0 && ih < h_in && iw >= 0 && iw < w_in)
                    ? x[((n * cin + c) * h_in + ih) * w_in + iw]
                    : prim::from_float<T>(0.f);
  }
}

// y[n][c][p] += b[c]
template <typename T>
__global__ void bias2d_kernel(T* y, const T* b, int64_t total, int64_t channels, int64_t plane) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x)
    y[i] = prim::from_float<T>(prim::to_float(y[i]) + prim::to_float(b[(i / plane) % channels]));
}

}  // namespace

// im2col + one batched GEMM: y[n] = W[Cout, Cin*KH*KW] * cols[n].
void conv2d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y) {
  enter(ctx, "conv2d", {&x, &w, &b, &y});
  same_dtype("conv2d", x.dtype(), {&w, &b});
  const int64_t batch = x.dim(0), cin = x.dim(1), h_in = x.dim(2), w_in = x.dim(3);
  const int64_t cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const int64_t h_out = y.dim(2), w_out = y.dim(3), plane = h_out * w_out;
  const int64_t k = cin * kh * kw, col_elems = k * plane;
  if (!batch || !cout || !plane) return;
  const int64_t chunk = std::max<int64_t>(
      1, std::min(batch, kColumnBytes / std::max<int64_t>(1, col_elems * dtype_size(x.dtype()))));
  Tensor cols({chunk, k, plane}, x.dtype(), ctx.device);
  prim::with_float_type(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n0 = 0; n0 < batch; n0 += chunk) {
      const int64_t nb = std::min(chunk, batch - n0);
      im2col2d_kernel<T><<<prim::grid_for(nb * col_elems, kThreads), kThreads, 0, stream_of(ctx)>>>(
          x.data<T>() + n0 * cin * h_in * w_in, nb, cin, h_in, w_in, kh, kw, h_out, w_out, stride,
          padding, cols.data<T>());
      check_launch("conv2d im2col");
      prim::GemmArgs g;
      g.m = static_cast<int>(cout);
      g.n = static_cast<int>(plane);
      g.k = static_cast<int>(k);
      g.a = w.data<T>();
      g.lda = k;
      g.b = cols.data<T>();
      g.ldb = plane;
      g.stride_b = col_elems;
      g.c = y.data<T>() + n0 * cout * plane;
      g.ldc = plane;
      g.stride_c = cout * plane;
      g.batch = static_cast<int>(nb);
      g.ab_type = g.c_type = x.dtype();
      prim::gemm(ctx, g);
    }
    if (!b.empty()) {
      const int64_t total = batch * cout * plane;
      bias2d_kernel<T><<<prim::grid_for(total, kThreads), kThreads, 0, stream_of(ctx)>>>(
          y.data<T>(), b.data<T>(), total, cout, plane);
    }
  });
  check_launch("conv2d bias");
}

}  // namespace voiceman::ops::cuda
