#pragma once
// A CPU emulation of the CUDA features that kernel sources under test use, so their index
// arithmetic runs in every build: one std::thread per CUDA thread, a barrier per
// __syncthreads and per warp-wide operation (shuffles here; mma, ldmatrix in
// voiceman/engine/primitives/cuda_mma.cuh beside this file). One block runs at a time;
// `__shared__` arrays become statics that its threads share. It checks which values a
// kernel combines, not its speed or the hardware's rounding.
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n)
#define __shared__ static

struct EmulatedDim3 {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local EmulatedDim3 threadIdx, blockIdx, blockDim, gridDim;

struct uint4 {
  unsigned x, y, z, w;
};

// 16-bit storage types; the values go through the conversions below.
struct __half {
  uint16_t bits;
};
struct __nv_bfloat16 {
  uint16_t bits;
};

// Round to nearest even, in software so that any compiler builds it (checked against
// GCC's _Float16 on every half and on every float from 2^-27 to 2^18).
inline uint16_t to_bits(const __half*, float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  x &= 0x7fffffff;
  if (x > 0x7f800000) return sign | 0x7e00;   // NaN
  if (x >= 0x47800000) return sign | 0x7c00;  // 65536 and above: infinity
  if (x < 0x33000000) return sign;            // below 2^-25: zero
  if (x < 0x38800000) {                       // below 2^-14: a subnormal half
    const int shift = 126 - static_cast<int>(x >> 23);
    const uint32_t m = (x & 0x7fffff) | 0x800000, rest = m & ((1u << shift) - 1);
    const uint32_t tie = 1u << (shift - 1);
    uint32_t r = m >> shift;
    if (rest > tie || (rest == tie && (r & 1))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = (x >> 13) - (112u << 10);  // exponent rebiased from 127 to 15
  const uint32_t rest = x & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (r & 1))) ++r;  // a carry may reach infinity
  return static_cast<uint16_t>(sign | r);
}
inline float from_bits(const __half*, uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu;
  if (e == 0) return (sign ? -1.f : 1.f) * std::ldexp(static_cast<float>(m), -24);
  const uint32_t x = sign | (e == 0x1f ? 0x7f800000 | (m << 13) : ((e + 112) << 23) | (m << 13));
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline uint16_t to_bits(const __nv_bfloat16*, float f) {  // round to nearest even
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return 0x7fc0;
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
inline float from_bits(const __nv_bfloat16*, uint16_t b) {
  const uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace voiceman::testing::emulation {

// What a warp's lanes exchange in one warp-wide operation.
struct Warp {
  std::barrier<> sync{32};
  float f[32];
  uint32_t a[32][4], b[32][2];
  uint32_t address[32];
};

struct Block {
  std::barrier<> sync;
  std::vector<std::unique_ptr<Warp>> warps;
  unsigned char* shared;  // the dynamic shared memory
  explicit Block(int threads, unsigned char* shared_memory) : sync(threads), shared(shared_memory) {
    for (int i = 0; i < threads / 32; ++i) warps.push_back(std::make_unique<Warp>());
  }
};
inline Block* current = nullptr;  // the block that runs now

inline Warp& warp() { return *current->warps[threadIdx.x / 32]; }
inline int lane() { return static_cast<int>(threadIdx.x % 32); }

}  // namespace voiceman::testing::emulation

inline void __syncthreads() { voiceman::testing::emulation::current->sync.arrive_and_wait(); }

inline float __shfl_xor_sync(unsigned, float v, int mask) {
  namespace emu = voiceman::testing::emulation;
  auto& w = emu::warp();
  w.f[emu::lane()] = v;
  w.sync.arrive_and_wait();
  const float r = w.f[emu::lane() ^ mask];
  w.sync.arrive_and_wait();
  return r;
}

template <typename I>
inline I min(I a, I b) {
  return a < b ? a : b;
}
template <typename I>
inline I max(I a, I b) {
  return a < b ? b : a;
}
inline float __expf(float x) { return std::exp(x); }
// CUDA's device overloads; the host has them in std.
inline bool isnan(float x) { return std::isnan(x); }
inline bool isfinite(float x) { return std::isfinite(x); }

namespace voiceman::testing::emulation {

// Runs kernel() over the grid, one block at a time, each block on `threads` std::threads
// with `shared_bytes` of dynamic shared memory that starts out as NaNs (0xff bytes).
template <typename Kernel>
void launch(EmulatedDim3 grid, unsigned threads, size_t shared_bytes, const Kernel& kernel) {
  std::vector<unsigned char> memory(shared_bytes + 128);
  auto* shared = memory.data() + (128 - reinterpret_cast<uintptr_t>(memory.data()) % 128) % 128;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        std::memset(shared, 0xff, shared_bytes);
        Block block(static_cast<int>(threads), shared);
        current = &block;
        std::vector<std::thread> team;
        team.reserve(threads);
        for (unsigned i = 0; i < threads; ++i)
          team.emplace_back([&, i] {
            threadIdx = {i, 0, 0};
            blockIdx = {x, y, z};
            blockDim = {threads, 1, 1};
            gridDim = grid;
            kernel();
          });
        for (auto& t : team) t.join();
        current = nullptr;
      }
}

}  // namespace voiceman::testing::emulation
