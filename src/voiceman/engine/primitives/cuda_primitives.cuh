#pragma once
// Device-side building blocks shared by the *_cuda.cu kernels: float conversion for the
// three activation dtypes, warp/block reductions (cuda_reductions.cuh), and dtype -> C++
// type dispatch.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <string>

#include "voiceman/core/errors.h"
#include "voiceman/core/tensor.h"
#include "voiceman/engine/primitives/cuda_reductions.cuh"

namespace voiceman::primitives::cuda {

// All arithmetic is in float; storage is float, half or bfloat16.
template <typename T>
__device__ __forceinline__ float to_float(T v) {
  return static_cast<float>(v);
}
template <>
__device__ __forceinline__ float to_float<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T from_float(float v) {
  return static_cast<T>(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// The block's dynamic shared memory (the launch's third parameter) as T. Kernels in
// device-only headers take it through here, which tests/support/cuda_emulation replaces.
template <typename T>
__device__ __forceinline__ T* dynamic_shared() {
  extern __shared__ __align__(128) unsigned char voiceman_dynamic_shared[];
  return reinterpret_cast<T*>(voiceman_dynamic_shared);
}

inline unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 16 ? blocks : 65535 * 16);
}

// Calls f(T{}) with T the storage type of a float dtype.
template <typename F>
void with_float_type(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::f32:
      f(float{});
      return;
    case DType::f16:
      f(__half{});
      return;
    case DType::bf16:
      f(__nv_bfloat16{});
      return;
    default:
      throw Error(std::string(op) + ": unsupported dtype " + dtype_name(dtype) + " on CUDA");
  }
}

}  // namespace voiceman::primitives::cuda
