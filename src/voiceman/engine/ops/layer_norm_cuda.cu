#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

// Normalisation, scale and bias in one pass over the output: one block per row, mean
// and variance in float32 with the two-pass formula (as the CPU kernel, no cancellation).
template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* gamma, const T* beta, float eps, int64_t d,
                                  T* y) {
  __shared__ float scratch[32];
  const T* xr = x + blockIdx.x * d;
  T* yr = y + blockIdx.x * d;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) sum += prim::to_float(xr[i]);
  const float mean = prim::block_sum(sum, scratch) / static_cast<float>(d);
  float sq = 0.f;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
    const float c = prim::to_float(xr[i]) - mean;
    sq += c * c;
  }
  const float inv = rsqrtf(prim::block_sum(sq, scratch) / static_cast<float>(d) + eps);
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
    yr[i] = prim::from_float<T>((prim::to_float(xr[i]) - mean) * inv * prim::to_float(gamma[i]) +
                                prim::to_float(beta[i]));
}

}  // namespace

void layer_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                float eps, Tensor& y) {
  enter(ctx, "layer_norm", {&x, &gamma, &beta, &y});
  same_dtype("layer_norm", x.dtype(), {&gamma, &beta});
  const int64_t d = x.dim(-1);
  const int64_t rows = d ? x.numel() / d : 0;
  if (!rows) return;
  const int threads = d > 1024 ? 512 : (d > 256 ? 256 : 128);
  prim::with_float_type(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_kernel<T>
        <<<static_cast<unsigned>(rows), threads, 0, voiceman::cuda::stream_of(ctx)>>>(
            x.data<T>(), gamma.data<T>(), beta.data<T>(), eps, d, y.data<T>());
  });
  voiceman::cuda::check_launch("layer_norm");
}

}  // namespace voiceman::ops::cuda
