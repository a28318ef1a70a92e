#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

constexpr int kThreads = 256;

// In place: x = |x|
template <typename T>
__global__ void absolute_kernel(T* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float v = prim::to_float(x[i]);
    x[i] = prim::from_float<T>(fabsf(v));
  }
}

}  // namespace

void absolute(const ExecContext& ctx, Tensor& x) {
  enter(ctx, "absolute", {&x});
  const int64_t n = x.numel();
  if (!n) return;
  prim::with_float_type(x.dtype(), "absolute", [&](auto tag) {
    using T = decltype(tag);
    absolute_kernel<T>
        <<<prim::grid_for(n, kThreads), kThreads, 0, voiceman::cuda::stream_of(ctx)>>>(x.data<T>(),
                                                                                       n);
  });
  voiceman::cuda::check_launch("absolute");
}

}  // namespace voiceman::ops::cuda
