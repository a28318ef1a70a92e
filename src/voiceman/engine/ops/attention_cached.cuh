#pragma once
// The decoder step's attention over a cache for head widths of 4 to 32 16-byte vectors
// (Whisper's 64 in every dtype): one block per (row, head). Device code only
// (attention_cuda.cu launches it; tests/engine/attention_cached_emu_test.cc runs it under
// the CPU emulation).
#include <cmath>
#include <cstdint>

#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda::cached {

namespace prim = primitives::cuda;

// `kLanes` neighbouring lanes share one key row (each lane one 16-byte piece of it), so a
// warp reads whole rows at a time and every lane keeps several loads in flight. The
// generic kernel (attention_cuda.cu) gives a thread a whole row, and a warp's loads then
// touch 32 rows at once.
constexpr int kCachedThreads = 128;
constexpr int kCachedUnroll = 4;  // keys a lane group has in flight

template <typename T>
struct Vec16 {
  static constexpr int kSize = 16 / static_cast<int>(sizeof(T));
  __device__ static void load(const T* p, float (&out)[kSize]) {
    union {
      uint4 raw;
      T v[kSize];
    } u;
    u.raw = *reinterpret_cast<const uint4*>(p);
#pragma unroll
    for (int i = 0; i < kSize; ++i) out[i] = prim::to_float(u.v[i]);
  }
};

template <typename T, int kLanes>
__global__ void __launch_bounds__(kCachedThreads)
    cached_attention_vec_kernel(const T* q, const T* k, const T* v, const int32_t* kv_index,
                                const int32_t* lengths, int64_t slots, int64_t capacity,
                                int64_t model, float scale, T* out) {
  constexpr int kVec = Vec16<T>::kSize, kDh = kLanes * kVec;
  constexpr int kGroups = kCachedThreads / kLanes, kStep = kGroups * kCachedUnroll;
  constexpr int kWarps = kCachedThreads / 32;
  float* shared = prim::dynamic_shared<float>();
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x, h = blockIdx.y;
  const int64_t len = min(max(int64_t{lengths[r]}, int64_t{0}), capacity);
  const int64_t slot = min(max(int64_t{kv_index[r]}, int64_t{0}), slots - 1);
  if (len == 0) {
    for (int d = threadIdx.x; d < kDh; d += kCachedThreads)
      out[r * model + h * kDh + d] = prim::from_float<T>(0.f);
    return;
  }
  float* scores = shared;              // capacity
  float* partial = shared + capacity;  // kWarps x kDh
  const int lane = threadIdx.x % kLanes, group = threadIdx.x / kLanes;
  const int64_t base = slot * capacity * model + h * kDh + lane * kVec;
  float qv[kVec];
  Vec16<T>::load(q + r * model + h * kDh + lane * kVec, qv);
#pragma unroll
  for (int i = 0; i < kVec; ++i) qv[i] *= scale;

  // Scores: every lane runs the same trips, as the group's sum is a shuffle.
  float mx = -INFINITY;
  for (int64_t j0 = 0; j0 < len; j0 += kStep) {
    float kv[kCachedUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups + group;
      if (j < len) {
        Vec16<T>::load(k + base + j * model, kv[u]);
      } else {
#pragma unroll
        for (int i = 0; i < kVec; ++i) kv[u][i] = 0.f;
      }
    }
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      float acc = 0.f;
#pragma unroll
      for (int i = 0; i < kVec; ++i) acc += qv[i] * kv[u][i];
#pragma unroll
      for (int o = kLanes / 2; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
      const int64_t j = j0 + u * kGroups + group;
      if (j < len) {
        if (lane == 0) scores[j] = acc;
        mx = fmaxf(mx, acc);
      }
    }
  }
  mx = prim::block_max(mx, scratch);  // also orders the score writes
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < len; j += kCachedThreads) {
    scores[j] = __expf(scores[j] - mx);
    sum += scores[j];
  }
  const float inv = 1.f / prim::block_sum(sum, scratch);  // also orders these writes

  // Values: each lane sums its kVec dimensions over its group's keys.
  float acc[kVec] = {};
  for (int64_t j0 = group; j0 < len; j0 += kStep) {
    float vv[kCachedUnroll][kVec];
    float p[kCachedUnroll];
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups;
      p[u] = 0.f;
      if (j < len) {
        Vec16<T>::load(v + base + j * model, vv[u]);
        p[u] = scores[j];
      } else {
#pragma unroll
        for (int i = 0; i < kVec; ++i) vv[u][i] = 0.f;
      }
    }
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u)
#pragma unroll
      for (int i = 0; i < kVec; ++i) acc[i] += p[u] * vv[u][i];
  }
  // Add the groups of a warp (lanes kLanes apart), then the warps.
#pragma unroll
  for (int i = 0; i < kVec; ++i)
#pragma unroll
    for (int o = 16; o >= kLanes; o /= 2) acc[i] += __shfl_xor_sync(0xffffffffu, acc[i], o);
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 < kLanes)
#pragma unroll
    for (int i = 0; i < kVec; ++i) partial[warp * kDh + lane * kVec + i] = acc[i];
  __syncthreads();
  for (int d = threadIdx.x; d < kDh; d += kCachedThreads) {
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) total += partial[w * kDh + d];
    out[r * model + h * kDh + d] = prim::from_float<T>(total * inv);
  }
}

}  // namespace voiceman::ops::cuda::cached
