#pragma once
// Emulated stand-in for src/voiceman/engine/primitives/cuda_primitives.cuh (same names; the
// test puts this folder first on the include path): the float conversions and the
// dynamic shared memory. The reductions are the product's own (cuda_reductions.cuh).
#include "cuda_emulation.h"
#include "voiceman/engine/primitives/cuda_reductions.cuh"

namespace voiceman::primitives::cuda {

template <typename T>
inline float to_float(T v) {
  return static_cast<float>(v);
}
template <>
inline float to_float<__half>(__half v) {
  return from_bits(&v, v.bits);
}
template <>
inline float to_float<__nv_bfloat16>(__nv_bfloat16 v) {
  return from_bits(&v, v.bits);
}

template <typename T>
inline T from_float(float v) {
  return static_cast<T>(v);
}
template <>
inline __half from_float<__half>(float v) {
  return {to_bits(static_cast<const __half*>(nullptr), v)};
}
template <>
inline __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return {to_bits(static_cast<const __nv_bfloat16*>(nullptr), v)};
}

template <typename T>
inline T* dynamic_shared() {
  return reinterpret_cast<T*>(voiceman::testing::emulation::current->shared);
}

}  // namespace voiceman::primitives::cuda
