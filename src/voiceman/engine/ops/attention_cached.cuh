#pragma once
// The decoder step's attention over a cache for head widths of 4 to 32 16-byte vectors
// (Whisper's 64 in every dtype): one block per (row, head), or per run of rows that share
// a cache slot (a window's beams over its cross keys and values). Device code only
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

// Rows that share a cache slot and a visible length (the beams or samples of one window in
// cross attention) can go to one block, which reads the slot's keys and values once for
// all of them: at most kCachedMaxRows, and at most what the shared memory holds.
constexpr int kCachedMaxRows = 8;
// The default 48 KB a block may have covers static shared memory too: block_sum's scratch
// and the rows' 1 / sums (160 bytes), which the dynamic array's 128-byte alignment rounds
// up to 256 (ptxas reports 256 for every instance, on sm_80 to sm_121). The launch checks
// the compiled kernel's own figure against this.
constexpr size_t kCachedStaticShared = 256;
constexpr size_t kCachedSharedLimit = 48 * 1024 - kCachedStaticShared;

// A row's scores and, once they are spent, its partial sums: the larger of the two.
__host__ __device__ constexpr int64_t cached_row_stride(int64_t capacity, int64_t dh) {
  return capacity > (kCachedThreads / 32) * dh ? capacity : (kCachedThreads / 32) * dh;
}
// Rows a block may take for this cache (0: not even one fits), and its shared memory.
constexpr int cached_max_rows(int64_t capacity, int64_t dh) {
  const int64_t fit =
      static_cast<int64_t>(kCachedSharedLimit / sizeof(float)) / cached_row_stride(capacity, dh);
  return static_cast<int>(fit < kCachedMaxRows ? fit : kCachedMaxRows);
}
constexpr size_t cached_shared_bytes(int64_t capacity, int64_t dh, int max_rows) {
  return sizeof(float) * static_cast<size_t>(max_rows * cached_row_stride(capacity, dh));
}

// kRows 1: one block per (row, head). kRows > 1: the block of a run's first row takes up to
// max_rows (<= kRows) rows of the run, and the blocks of the other rows return at once.
// A row's arithmetic is the same in both, lane for lane.
template <typename T, int kLanes, int kRows>
__global__ void __launch_bounds__(kCachedThreads)
    cached_attention_vec_kernel(const T* q, const T* k, const T* v, const int32_t* kv_index,
                                const int32_t* lengths, int64_t rows, int64_t slots,
                                int64_t capacity, int64_t model, float scale, int max_rows,
                                T* out) {
  constexpr int kVec = Vec16<T>::kSize, kDh = kLanes * kVec;
  constexpr int kGroups = kCachedThreads / kLanes, kStep = kGroups * kCachedUnroll;
  constexpr int kWarps = kCachedThreads / 32;
  float* shared = prim::dynamic_shared<float>();
  __shared__ float scratch[32];
  __shared__ float row_inv[kRows];
  const int64_t r = blockIdx.x, h = blockIdx.y;
  auto slot_of = [&](int64_t i) { return min(max(int64_t{kv_index[i]}, int64_t{0}), slots - 1); };
  auto length_of = [&](int64_t i) { return min(max(int64_t{lengths[i]}, int64_t{0}), capacity); };
  const int64_t slot = slot_of(r), len = length_of(r);
  int count = 1;  // rows r .. r + count - 1 are this block's
  if constexpr (kRows > 1) {
    auto joins = [&](int64_t i) { return slot_of(i) == slot && length_of(i) == len; };
    int64_t first = r;
    while (first > 0 && joins(first - 1)) --first;
    if ((r - first) % max_rows != 0) return;  // an earlier block takes row r
    while (count < max_rows && r + count < rows && joins(r + count)) ++count;
  }
  if (len == 0) {
    for (int d = threadIdx.x; d < count * kDh; d += kCachedThreads)
      out[(r + d / kDh) * model + h * kDh + d % kDh] = prim::from_float<T>(0.f);
    return;
  }
  const int64_t stride = cached_row_stride(capacity, kDh);
  const int lane = threadIdx.x % kLanes, group = threadIdx.x / kLanes;
  const int64_t base = slot * capacity * model + h * kDh + lane * kVec;
  float qv[kRows][kVec];
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    if (i < count) {
      Vec16<T>::load(q + (r + i) * model + h * kDh + lane * kVec, qv[i]);
#pragma unroll
      for (int e = 0; e < kVec; ++e) qv[i][e] *= scale;
    }
  }

  // Scores: every lane runs the same trips, as the group's sum is a shuffle.
  float mx[kRows];
#pragma unroll
  for (int i = 0; i < kRows; ++i) mx[i] = -INFINITY;
  for (int64_t j0 = 0; j0 < len; j0 += kStep) {
    float kv[kCachedUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups + group;
      if (j < len) {
        Vec16<T>::load(k + base + j * model, kv[u]);
      } else {
#pragma unroll
        for (int e = 0; e < kVec; ++e) kv[u][e] = 0.f;
      }
    }
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups + group;
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        if (i < count) {  // the same for the whole block: every lane shuffles
          float acc = 0.f;
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc += qv[i][e] * kv[u][e];
#pragma unroll
          for (int o = kLanes / 2; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
          if (j < len) {
            if (lane == 0) shared[i * stride + j] = acc;
            mx[i] = fmaxf(mx[i], acc);
          }
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    if (i < count) {
      float* scores = shared + i * stride;
      const float m = prim::block_max(mx[i], scratch);  // also orders the score writes
      float sum = 0.f;
      for (int64_t j = threadIdx.x; j < len; j += kCachedThreads) {
        scores[j] = __expf(scores[j] - m);
        sum += scores[j];
      }
      const float total = prim::block_sum(sum, scratch);  // also orders these writes
      if (threadIdx.x == 0) row_inv[i] = 1.f / total;
    }
  }

  // Values: each lane sums its kVec dimensions over its group's keys, for every row.
  float acc[kRows][kVec];
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int e = 0; e < kVec; ++e) acc[i][e] = 0.f;
  for (int64_t j0 = group; j0 < len; j0 += kStep) {
    float vv[kCachedUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups;
      if (j < len) {
        Vec16<T>::load(v + base + j * model, vv[u]);
      } else {
#pragma unroll
        for (int e = 0; e < kVec; ++e) vv[u][e] = 0.f;
      }
    }
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups;
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        if (i < count) {
          const float p = j < len ? shared[i * stride + j] : 0.f;
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc[i][e] += p * vv[u][e];
        }
      }
    }
  }
  // Add the groups of a warp (lanes kLanes apart), then the warps; the partial sums take
  // the scores' place.
  __syncthreads();
  const int warp = threadIdx.x / 32;
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    if (i < count) {
#pragma unroll
      for (int e = 0; e < kVec; ++e)
#pragma unroll
        for (int o = 16; o >= kLanes; o /= 2)
          acc[i][e] += __shfl_xor_sync(0xffffffffu, acc[i][e], o);
      if (threadIdx.x % 32 < kLanes)
#pragma unroll
        for (int e = 0; e < kVec; ++e)
          shared[i * stride + warp * kDh + lane * kVec + e] = acc[i][e];
    }
  }
  __syncthreads();
  for (int d = threadIdx.x; d < count * kDh; d += kCachedThreads) {
    const int i = d / kDh;
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) total += shared[i * stride + w * kDh + d % kDh];
    out[(r + i) * model + h * kDh + d % kDh] = prim::from_float<T>(total * row_inv[i]);
  }
}

}  // namespace voiceman::ops::cuda::cached
