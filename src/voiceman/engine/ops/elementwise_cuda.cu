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
__global__ void gelu_kernel(T* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float v = prim::to_float(x[i]);
    x[i] = prim::from_float<T>(0.5f * v * (1.f + erff(v * 0.70710678118654752f)));  // exact GELU
  }
}

template <typename T>
__global__ void add_kernel(T* x, const T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    x[i] = prim::from_float<T>(prim::to_float(x[i]) + prim::to_float(y[i]));
}

template <typename In, typename Out>
__global__ void cast_kernel(const In* x, Out* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    y[i] = prim::from_float<Out>(prim::to_float(x[i]));
}

}  // namespace

void gelu(const ExecContext& ctx, Tensor& x) {
  enter(ctx, "gelu", {&x});
  const int64_t n = x.numel();
  if (!n) return;
  prim::with_float_type(x.dtype(), "gelu", [&](auto tag) {
    using T = decltype(tag);
    gelu_kernel<T><<<prim::grid_for(n, kThreads), kThreads, 0, stream_of(ctx)>>>(x.data<T>(), n);
  });
  check_launch("gelu");
}

void add(const ExecContext& ctx, Tensor& x, const Tensor& y) {
  enter(ctx, "add", {&x, &y});
  same_dtype("add", x.dtype(), {&y});
  const int64_t n = x.numel();
  if (!n) return;
  prim::with_float_type(x.dtype(), "add", [&](auto tag) {
    using T = decltype(tag);
    add_kernel<T>
        <<<prim::grid_for(n, kThreads), kThreads, 0, stream_of(ctx)>>>(x.data<T>(), y.data<T>(), n);
  });
  check_launch("add");
}

void cast(const ExecContext& ctx, const Tensor& x, DType dtype, Tensor& y) {
  enter(ctx, "cast", {&x, &y});
  const int64_t n = x.numel();
  if (!n) return;
  if (x.dtype() == dtype) {  // any dtype, as on the CPU (int8 and int32 have no kernel)
    voiceman::cuda::copy(ctx, y.data<char>(), ctx.device, x.data<char>(), ctx.device, x.bytes());
    return;
  }
  prim::with_float_type(x.dtype(), "cast", [&](auto in_tag) {
    using In = decltype(in_tag);
    prim::with_float_type(dtype, "cast", [&](auto out_tag) {
      using Out = decltype(out_tag);
      cast_kernel<In, Out><<<prim::grid_for(n, kThreads), kThreads, 0, stream_of(ctx)>>>(
          x.data<In>(), y.data<Out>(), n);
    });
  });
  check_launch("cast");
}

}  // namespace voiceman::ops::cuda
