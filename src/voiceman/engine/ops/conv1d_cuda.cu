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
// im2col columns are built for this many bytes of batch at a time (one 30 s window of
// large-v3's second convolution is 23 MB in half precision).
constexpr int64_t kColumnBytes = int64_t{256} << 20;

// cols[n][c * kernel + k][t] = x[n][c][t * stride + k - padding], zero outside.
template <typename T>
__global__ void im2col_kernel(const T* x, int64_t batch, int64_t cin, int64_t t_in, int64_t kernel,
                              int64_t t_out, int stride, int padding, T* cols) {
  const int64_t total = batch * cin * kernel * t_out;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i % t_out;
    const int64_t ck = (i / t_out) % (cin * kernel);
    const int64_t n = i / (t_out * cin * kernel);
    const int64_t c = ck / kernel, k = ck % kernel;
    const int64_t src = t * stride + k - padding;
    cols[i] = (src >= 0 && src < t_in) ? x[(n * cin + c) * t_in + src] : prim::from_float<T>(0.f);
  }
}

// y[n][c][t] += b[c]
template <typename T>
__global__ void channel_bias_kernel(T* y, const T* b, int64_t total, int64_t channels, int64_t t) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x)
    y[i] = prim::from_float<T>(prim::to_float(y[i]) + prim::to_float(b[(i / t) % channels]));
}

// Tiled transpose through shared memory so reads and writes are both coalesced; the
// extra column avoids bank conflicts.
template <typename T>
__global__ void transpose_kernel(const T* x, int64_t m, int64_t n, T* y) {
  __shared__ T tile[32][33];
  const T* src = x + blockIdx.z * m * n;
  T* dst = y + blockIdx.z * m * n;
  const int64_t col = blockIdx.x * 32 + threadIdx.x;
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    const int64_t row = blockIdx.y * 32 + r;
    if (row < m && col < n) tile[r][threadIdx.x] = src[row * n + col];
  }
  __syncthreads();
  const int64_t out_col = blockIdx.y * 32 + threadIdx.x;  // a row of x
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    const int64_t out_row = blockIdx.x * 32 + r;  // a column of x
    if (out_row < n && out_col < m) dst[out_row * m + out_col] = tile[threadIdx.x][r];
  }
}

}  // namespace

// im2col + one batched GEMM: y[n] = W[Cout, Cin*K] * cols[n][Cin*K, Tout].
void conv1d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y) {
  enter(ctx, "conv1d", {&x, &w, &b, &y});
  same_dtype("conv1d", x.dtype(), {&w, &b});
  const int64_t batch = x.dim(0), cin = x.dim(1), t_in = x.dim(2);
  const int64_t cout = w.dim(0), kernel = w.dim(2), t_out = y.dim(2);
  const int64_t col_elems = cin * kernel * t_out;
  if (!batch || !cout || !t_out) return;
  const int64_t chunk = std::max<int64_t>(
      1, std::min(batch, kColumnBytes / std::max<int64_t>(1, col_elems * dtype_size(x.dtype()))));
  Tensor cols({chunk, cin * kernel, t_out}, x.dtype(), ctx.device);
  prim::with_float_type(x.dtype(), "conv1d", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n0 = 0; n0 < batch; n0 += chunk) {
      const int64_t nb = std::min(chunk, batch - n0);
      im2col_kernel<T><<<prim::grid_for(nb * col_elems, kThreads), kThreads, 0, stream_of(ctx)>>>(
          x.data<T>() + n0 * cin * t_in, nb, cin, t_in, kernel, t_out, stride, padding,
          cols.data<T>());
      check_launch("conv1d im2col");
      prim::GemmArgs g;
      g.m = static_cast<int>(cout);
      g.n = static_cast<int>(t_out);
      g.k = static_cast<int>(cin * kernel);
      g.a = w.data<T>();
      g.lda = cin * kernel;
      g.b = cols.data<T>();
      g.ldb = t_out;
      g.stride_b = col_elems;
      g.c = y.data<T>() + n0 * cout * t_out;
      g.ldc = t_out;
      g.stride_c = cout * t_out;
      g.batch = static_cast<int>(nb);
      g.ab_type = g.c_type = x.dtype();
      prim::gemm(ctx, g);
    }
    const int64_t total = batch * cout * t_out;
    channel_bias_kernel<T><<<prim::grid_for(total, kThreads), kThreads, 0, stream_of(ctx)>>>(
        y.data<T>(), b.data<T>(), total, cout, t_out);
  });
  check_launch("conv1d bias");
}

void transpose_last2(const ExecContext& ctx, const Tensor& x, Tensor& y) {
  enter(ctx, "transpose_last2", {&x, &y});
  const int64_t batch = x.dim(0), m = x.dim(1), n = x.dim(2);
  if (!batch || !m || !n) return;
  const dim3 grid(static_cast<unsigned>((n + 31) / 32), static_cast<unsigned>((m + 31) / 32),
                  static_cast<unsigned>(batch));
  prim::with_float_type(x.dtype(), "transpose_last2", [&](auto tag) {
    using T = decltype(tag);
    transpose_kernel<T><<<grid, dim3(32, 8), 0, stream_of(ctx)>>>(x.data<T>(), m, n, y.data<T>());
  });
  check_launch("transpose_last2");
}

}  // namespace voiceman::ops::cuda
