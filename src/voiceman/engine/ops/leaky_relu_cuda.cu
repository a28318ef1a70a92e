#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

constexpr int kThreads = 256;

// In place: x = x >= 0 ? x : slope * x
template <typename T>
__global__ void leaky_relu_kernel(T* x, int64_t n, float slope) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float v = prim::to_float(x[i]);
    x[i] = prim::from_float<T>(v >= 0.f ? v : v * slope);
  }
}

}  // namespace

void leaky_relu(const ExecContext& ctx, Tensor& x, float slope) {
  enter(ctx, "leaky_relu", {&x});
  const int64_t n = x.numel();
  if (!n) return;
  prim::with_float_type(x.dtype(), "leaky_relu", [&](auto tag) {
    using T = decltype(tag);
    leaky_relu_kernel<T>
        <<<prim::grid_for(n, kThreads), kThreads, 0, voiceman::cuda::stream_of(ctx)>>>(x.data<T>(),
                                                                                       n, slope);
  });
  voiceman::cuda::check_launch("leaky_relu");
}

}  // namespace voiceman::ops::cuda
