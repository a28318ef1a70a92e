#pragma once
// ops::quantize_heads and dequantize_heads on CUDA: one warp per (row, head), with the
// CPU's arithmetic (IEEE division, rounding to nearest even, ops.h's rule for values that
// are not finite) so that both give the same bytes. Device code only (quantize_cuda.cu
// launches it; tests/engine/quantize_heads_emu_test.cc runs it under the CPU emulation).
#include <cmath>
#include <cstdint>

#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda::quantize {

namespace prim = primitives::cuda;

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
    for (int64_t i = lane; i < dh; i += 32) {
      const float v = prim::to_float(xh[i]);
      if (isfinite(v)) peak = fmaxf(peak, fabsf(v));
    }
    peak = prim::warp_max(peak);
    const float scale = peak > 0.f ? peak / 127.f : 1.f;
    for (int64_t i = lane; i < dh; i += 32) {
      const float v = prim::to_float(xh[i]);
      const float level = isnan(v) ? 0.f : fminf(fmaxf(rintf(v / scale), -127.f), 127.f);
      const auto q = static_cast<int8_t>(level);
      qh[i] = q;
      xh[i] = prim::from_float<T>(static_cast<float>(q) * scale);  // dequantize's bits (no -0)
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

}  // namespace voiceman::ops::cuda::quantize
