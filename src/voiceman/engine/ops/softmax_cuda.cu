#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

// One block per row; vocabulary-sized rows (51866) are read three times, from L2.
template <typename T>
__global__ void softmax_kernel(T* x, int64_t d, bool log) {
  __shared__ float scratch[32];
  T* row = x + blockIdx.x * d;
  float mx = -INFINITY;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) mx = fmaxf(mx, prim::to_float(row[i]));
  mx = prim::block_max(mx, scratch);
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) sum += __expf(prim::to_float(row[i]) - mx);
  sum = prim::block_sum(sum, scratch);
  if (log) {
    const float lse = mx + logf(sum);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
      row[i] = prim::from_float<T>(prim::to_float(row[i]) - lse);
  } else {
    const float inv = 1.f / sum;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
      row[i] = prim::from_float<T>(__expf(prim::to_float(row[i]) - mx) * inv);
  }
}

}  // namespace

void softmax(const ExecContext& ctx, Tensor& x, bool log) {
  enter(ctx, "softmax", {&x});
  const int64_t d = x.dim(-1);
  const int64_t rows = d ? x.numel() / d : 0;
  if (!rows) return;
  const int threads = d >= 4096 ? 1024 : 256;
  prim::with_float_type(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<T><<<static_cast<unsigned>(rows), threads, 0, voiceman::cuda::stream_of(ctx)>>>(
        x.data<T>(), d, log);
  });
  voiceman::cuda::check_launch("softmax");
}

}  // namespace voiceman::ops::cuda
