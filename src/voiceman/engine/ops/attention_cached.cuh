#pragma once
// The decoder step's attention over a cache for head widths of 4 to 32 16-byte vectors of
// keys and values (Whisper's 64 in every dtype, and in int8 with a float32 scale per
// position and head): one block per (row, head), or per run of rows that share a cache
// slot (a window's beams over its cross keys and values). Device code only
// (attention_cuda.cu launches it; tests/engine/attention_cached_emu_test.cc runs it under
// the CPU emulation).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda::cached {

namespace prim = primitives::cuda;

// `kLanes` neighbouring lanes share one key row (each lane one 16-byte piece of it), so a
// warp reads whole rows at a time and every lane keeps several loads in flight. The
// generic kernel (attention_cuda.cu) gives a thread a whole row, and a warp's loads then
// touch 32 rows at once.
constexpr int kCachedThreads = 128;
constexpr int kCachedUnroll = 4;  // keys a lane group has in flight

// __byte_perm: byte n of the result is byte (s >> 4n) & 7 of y:x (x the low word). Spelt
// out where the CUDA emulation of the tests compiles this.
__device__ inline uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t s) {
#ifdef __CUDACC__
  return __byte_perm(x, y, s);
#else
  const uint64_t both = (uint64_t{y} << 32) | x;
  uint32_t r = 0;
  for (int n = 0; n < 4; ++n)
    r |= static_cast<uint32_t>((both >> (8 * ((s >> (4 * n)) & 7))) & 0xff) << (8 * n);
  return r;
#endif
}

// 16 bytes of T. Keys and values stay raw while their loads are in flight (16 int8 values
// would take 16 registers as floats, 4 as raw bytes).
template <typename T>
struct Vec16 {
  static constexpr int kSize = 16 / static_cast<int>(sizeof(T));
  __device__ static uint4 raw(const T* p) { return *reinterpret_cast<const uint4*>(p); }
  __device__ static void convert(uint4 raw, float (&out)[kSize]) {
    if constexpr (std::is_same_v<T, int8_t>) {
      // Not by I2F, which runs at 16 a clock per SM on sm_90, no more than the bytes HBM
      // brings: byte + 128 as the low bits of the float 2^23 (one PRMT), less 2^23 + 128.
      // Exact.
      const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        const uint32_t biased = words[w] ^ 0x80808080u;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          union {
            uint32_t bits;
            float f;
          } x;
          x.bits = byte_perm(biased, 0x4b000000u, 0x7440u | b);  // 4b 00 00 byte b
          out[4 * w + b] = x.f - 8388736.f;
        }
      }
    } else {
      union {
        uint4 raw;
        T v[kSize];
      } u;
      u.raw = raw;
#pragma unroll
      for (int i = 0; i < kSize; ++i) out[i] = prim::to_float(u.v[i]);
    }
  }
  __device__ static void load(const T* p, float (&out)[kSize]) { convert(raw(p), out); }
};

// N values of T from 16-byte aligned p (N * sizeof(T) a multiple of 16): a query piece
// as wide as a lane's piece of a key, which for int8 keys is 16 values.
template <typename T, int N>
__device__ void load_floats(const T* p, float (&out)[N]) {
  constexpr int kPiece = Vec16<T>::kSize;
  static_assert(N % kPiece == 0);
#pragma unroll
  for (int c = 0; c < N / kPiece; ++c) {
    float piece[kPiece];
    Vec16<T>::load(p + c * kPiece, piece);
#pragma unroll
    for (int e = 0; e < kPiece; ++e) out[c * kPiece + e] = piece[e];
  }
}

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
// KV is T, or int8_t with k_scales / v_scales [slots, capacity, heads] (else unread): a
// key's score is its scale times q . k, and a value's weight its probability times its
// scale, folded into the probability the softmax stores.
template <typename T, typename KV, int kLanes, int kRows>
__global__ void __launch_bounds__(kCachedThreads)
    cached_attention_vec_kernel(const T* q, const KV* k, const KV* v, const float* k_scales,
                                const float* v_scales, const int32_t* kv_index,
                                const int32_t* lengths, int64_t rows, int64_t slots,
                                int64_t capacity, int64_t model, float scale, int max_rows,
                                T* out) {
  static_assert(std::is_same_v<KV, T> || std::is_same_v<KV, int8_t>);
  constexpr bool kScaled = std::is_same_v<KV, int8_t>;
  constexpr int kVec = Vec16<KV>::kSize, kDh = kLanes * kVec;
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
  // Key j's scale is at scales[scale_base + j * heads].
  const int64_t heads = model / kDh, scale_base = slot * capacity * heads + h;
  float qv[kRows][kVec];
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    if (i < count) {
      load_floats<T, kVec>(q + (r + i) * model + h * kDh + lane * kVec, qv[i]);
#pragma unroll
      for (int e = 0; e < kVec; ++e) qv[i][e] *= scale;
    }
  }

  // Scores: every lane runs the same trips, as the group's sum is a shuffle.
  float mx[kRows];
#pragma unroll
  for (int i = 0; i < kRows; ++i) mx[i] = -INFINITY;
  for (int64_t j0 = 0; j0 < len; j0 += kStep) {
    uint4 raw[kCachedUnroll];
    float key_scale[kCachedUnroll];
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups + group;
      raw[u] = j < len ? Vec16<KV>::raw(k + base + j * model) : uint4{0, 0, 0, 0};
      if constexpr (kScaled) key_scale[u] = j < len ? k_scales[scale_base + j * heads] : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups + group;
      float kv[kVec];
      Vec16<KV>::convert(raw[u], kv);
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        if (i < count) {  // the same for the whole block: every lane shuffles
          float acc = 0.f;
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc += qv[i][e] * kv[e];
#pragma unroll
          for (int o = kLanes / 2; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
          if constexpr (kScaled) acc *= key_scale[u];
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
        const float p = __expf(scores[j] - m);
        sum += p;
        scores[j] = kScaled ? p * v_scales[scale_base + j * heads] : p;
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
    uint4 raw[kCachedUnroll];
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups;
      raw[u] = j < len ? Vec16<KV>::raw(v + base + j * model) : uint4{0, 0, 0, 0};
    }
#pragma unroll
    for (int u = 0; u < kCachedUnroll; ++u) {
      const int64_t j = j0 + u * kGroups;
      float vv[kVec];
      Vec16<KV>::convert(raw[u], vv);
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        if (i < count) {
          const float p = j < len ? shared[i * stride + j] : 0.f;
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc[i][e] += p * vv[e];
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
