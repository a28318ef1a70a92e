// ops::quantize_heads on CUDA: one warp per (row, head), with the CPU's arithmetic (IEEE
// division, rounding to nearest even) so that both give the same bytes.
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;

// Head p of x (row p / heads, head p % heads) is the dh values from x + p * dh, and its
// scale scales[p]. A warp's trips are the same for its 32 lanes, as the max is a shuffle.
template <typename T>
__global__ void quantize_heads_kernel(T* x, int8_t* data, float* scales, int64_t pairs,
                                      int64_t dh) {
  const int lane = threadIdx.x % 32;
  for (int64_t p = blockIdx.x * int64_t{kWarps} + threadIdx.x / 32; p < pairs;
       p += int64_t{gridDim.x} * kWarps) {
    T* xh = x + p * dh;
    int8_t* qh = data + p * dh;
    float peak = 0.f;
    for (int64_t i = lane; i < dh; i += 32) peak = fmaxf(peak, fabsf(prim::to_float(xh[i])));
    peak = prim::warp_max(peak);
    const float scale = peak > 0.f ? peak / 127.f : 1.f;
    for (int64_t i = lane; i < dh; i += 32) {
      const float level = fminf(fmaxf(rintf(prim::to_float(xh[i]) / scale), -127.f), 127.f);
      qh[i] = static_cast<int8_t>(level);
      xh[i] = prim::from_float<T>(level * scale);
    }
    if (lane == 0) scales[p] = scale;
  }
}

template <typename T>
__global__ void dequantize_heads_kernel(const int8_t* data, const float* scales, int64_t n,
                                        int64_t dh, T* y) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    y[i] = prim::from_float<T>(static_cast<float>(data[i]) * scales[i / dh]);
}

}  // namespace

void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y) {
  enter(ctx, "dequantize_heads", {&q.data, &q.scales, &y});
  const int64_t n = q.data.numel(), dh = q.data.dim(1) / q.scales.dim(1);
  if (!n) return;
  prim::with_float_type(dtype, "dequantize_heads", [&](auto tag) {
    using T = decltype(tag);
    dequantize_heads_kernel<T><<<prim::grid_for(n, 256), 256, 0, voiceman::cuda::stream_of(ctx)>>>(
        q.data.data<int8_t>(), q.scales.data<float>(), n, dh, y.data<T>());
  });
  voiceman::cuda::check_launch("dequantize_heads");
}

void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out) {
  enter(ctx, "quantize_heads", {&x, &out.data, &out.scales});
  same_dtype("quantize_heads", DType::i8, {&out.data});
  same_dtype("quantize_heads", DType::f32, {&out.scales});
  const int64_t pairs = x.dim(0) * num_heads, dh = x.dim(1) / num_heads;
  if (!pairs || !dh) return;
  prim::with_float_type(x.dtype(), "quantize_heads", [&](auto tag) {
    using T = decltype(tag);
    quantize_heads_kernel<T>
        <<<prim::grid_for(pairs, kWarps), kThreads, 0, voiceman::cuda::stream_of(ctx)>>>(
            x.data<T>(), out.data.data<int8_t>(), out.scales.data<float>(), pairs, dh);
  });
  voiceman::cuda::check_launch("quantize_heads");
}

}  // namespace voiceman::ops::cuda
