#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;
using voiceman::cuda::check_launch;
using voiceman::cuda::stream_of;

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void relu_kernel(T* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    x[i] = prim::from_float<T>(fmaxf(prim::to_float(x[i]), 0.f));
}

template <typename T>
__global__ void sigmoid_kernel(T* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    x[i] = prim::from_float<T>(1.f / (1.f + expf(-prim::to_float(x[i]))));
}

// y[r, j] = |x[r, j] + i x[r, f + j]|
template <typename T>
__global__ void magnitude_kernel(const T* x, T* y, int64_t rows, int64_t f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < rows * f;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / f, j = i % f;
    const float re = prim::to_float(x[r * 2 * f + j]), im = prim::to_float(x[r * 2 * f + f + j]);
    y[i] = prim::from_float<T>(sqrtf(re * re + im * im));
  }
}

}  // namespace

void relu(const ExecContext& ctx, Tensor& x) {
  enter(ctx, "relu", {&x});
  const int64_t n = x.numel();
  if (!n) return;
  prim::with_float_type(x.dtype(), "relu", [&](auto tag) {
    using T = decltype(tag);
    relu_kernel<T><<<prim::grid_for(n, kThreads), kThreads, 0, stream_of(ctx)>>>(x.data<T>(), n);
  });
  check_launch("relu");
}

void sigmoid(const ExecContext& ctx, Tensor& x) {
  enter(ctx, "sigmoid", {&x});
  const int64_t n = x.numel();
  if (!n) return;
  prim::with_float_type(x.dtype(), "sigmoid", [&](auto tag) {
    using T = decltype(tag);
    sigmoid_kernel<T><<<prim::grid_for(n, kThreads), kThreads, 0, stream_of(ctx)>>>(x.data<T>(), n);
  });
  check_launch("sigmoid");
}

void complex_magnitude(const ExecContext& ctx, const Tensor& x, Tensor& y) {
  enter(ctx, "complex_magnitude", {&x, &y});
  const int64_t f = y.dim(-1);
  const int64_t rows = f ? y.numel() / f : 0;
  if (!rows) return;
  prim::with_float_type(x.dtype(), "complex_magnitude", [&](auto tag) {
    using T = decltype(tag);
    magnitude_kernel<T><<<prim::grid_for(rows * f, kThreads), kThreads, 0, stream_of(ctx)>>>(
        x.data<T>(), y.data<T>(), rows, f);
  });
  check_launch("complex_magnitude");
}

}  // namespace voiceman::ops::cuda
