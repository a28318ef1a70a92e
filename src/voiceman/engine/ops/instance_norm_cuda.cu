#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

// One block per (batch, channel) row: two-pass mean and biased variance in float32, then
// the per-channel affine transform.
template <typename T>
__global__ void instance_norm_kernel(const T* x, const T* gamma, const T* beta, float eps,
                                     int64_t channels, int64_t t, T* y) {
  __shared__ float scratch[32];
  const T* xr = x + blockIdx.x * t;
  T* yr = y + blockIdx.x * t;
  const int64_t c = blockIdx.x % channels;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < t; i += blockDim.x) sum += prim::to_float(xr[i]);
  const float mean = prim::block_sum(sum, scratch) / static_cast<float>(t);
  float sq = 0.f;
  for (int64_t i = threadIdx.x; i < t; i += blockDim.x) {
    const float d = prim::to_float(xr[i]) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(prim::block_sum(sq, scratch) / static_cast<float>(t) + eps);
  const float g = prim::to_float(gamma[c]), b = prim::to_float(beta[c]);
  for (int64_t i = threadIdx.x; i < t; i += blockDim.x)
    yr[i] = prim::from_float<T>((prim::to_float(xr[i]) - mean) * inv * g + b);
}

}  // namespace

void instance_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   float eps, Tensor& y) {
  enter(ctx, "instance_norm", {&x, &gamma, &beta, &y});
  same_dtype("instance_norm", x.dtype(), {&gamma, &beta});
  const int64_t channels = x.dim(1), t = x.dim(2), rows = x.dim(0) * channels;
  if (!rows || !t) return;
  const int threads = t > 1024 ? 512 : (t > 256 ? 256 : 128);
  prim::with_float_type(x.dtype(), "instance_norm", [&](auto tag) {
    using T = decltype(tag);
    instance_norm_kernel<T>
        <<<static_cast<unsigned>(rows), threads, 0, voiceman::cuda::stream_of(ctx)>>>(
            x.data<T>(), gamma.data<T>(), beta.data<T>(), eps, channels, t, y.data<T>());
  });
  voiceman::cuda::check_launch("instance_norm");
}

}  // namespace voiceman::ops::cuda
