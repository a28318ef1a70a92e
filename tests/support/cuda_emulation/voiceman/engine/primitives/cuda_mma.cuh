#pragma once
// Emulated stand-in for src/voiceman/engine/primitives/cuda_mma.cuh (same names; the test
// puts this folder first on the include path). Semantics from the PTX ISA: mma.m16n8k16
// fragment layouts, ldmatrix, and cp.async groups.
#include <cstdlib>

#include "cuda_emulation.h"

namespace voiceman::primitives::cuda {

namespace emu = voiceman::testing::emulation;

template <typename T>
inline float half_of(uint32_t reg, int high) {
  return from_bits(static_cast<const T*>(nullptr),
                   static_cast<uint16_t>(high ? reg >> 16 : reg & 0xffff));
}

template <typename T>
inline void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  auto& w = emu::warp();
  const int lane = emu::lane(), g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) w.a[lane][i] = a[i];
  w.b[lane][0] = b0;
  w.b[lane][1] = b1;
  w.sync.arrive_and_wait();
  auto A = [&](int row, int col) {  // the lane and register that hold A[row][col]
    const int owner = (row % 8) * 4 + (col % 8) / 2;
    return half_of<T>(w.a[owner][(row >= 8 ? 1 : 0) + (col >= 8 ? 2 : 0)], col % 2);
  };
  auto B = [&](int k, int n) { return half_of<T>(w.b[n * 4 + (k % 8) / 2][k >= 8], k % 2); };
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i / 2) * 8, col = 2 * t + i % 2;
    float acc = d[i];
    for (int k = 0; k < 16; ++k) acc += A(row, k) * B(k, col);
    d[i] = acc;
  }
  w.sync.arrive_and_wait();
}

template <typename T>
inline uint32_t pack2(float lo, float hi) {
  const T* tag = nullptr;
  return uint32_t{to_bits(tag, lo)} | (uint32_t{to_bits(tag, hi)} << 16);
}

inline uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(static_cast<const unsigned char*>(p) - emu::current->shared);
}

inline void ldmatrix(uint32_t (&r)[4], uint32_t address, bool trans) {
  if (address % 16) std::abort();  // rows must be 16-byte aligned
  auto& w = emu::warp();
  const int lane = emu::lane(), g = lane / 4, t = lane % 4;
  w.address[lane] = address;
  w.sync.arrive_and_wait();
  auto row = [&](int l) {
    return reinterpret_cast<const uint16_t*>(emu::current->shared + w.address[l]);
  };
  for (int j = 0; j < 4; ++j) {
    const uint16_t lo = trans ? row(8 * j + 2 * t)[g] : row(8 * j + g)[2 * t];
    const uint16_t hi = trans ? row(8 * j + 2 * t + 1)[g] : row(8 * j + g)[2 * t + 1];
    r[j] = uint32_t{lo} | (uint32_t{hi} << 16);
  }
  w.sync.arrive_and_wait();
}
inline void ldmatrix_x4(uint32_t (&r)[4], uint32_t row) { ldmatrix(r, row, false); }
inline void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t row) { ldmatrix(r, row, true); }

// A copy spoils its destination when issued and lands at the wait that covers its group,
// never earlier: reading a stage before its wait, or refilling one that another warp
// still reads, shows up as NaNs.
struct PendingCopy {
  void* dst;
  const void* src;
  bool fill;
};
inline thread_local std::vector<PendingCopy> open_group;
inline thread_local std::vector<std::vector<PendingCopy>> committed;

inline void cp_async_16(void* dst, const void* src, bool fill) {
  if (reinterpret_cast<uintptr_t>(dst) % 16 || reinterpret_cast<uintptr_t>(src) % 16) std::abort();
  std::memset(dst, 0xff, 16);  // 0xffff is a NaN in half and bfloat16
  open_group.push_back({dst, src, fill});
}
inline void cp_async_commit() {
  committed.push_back(std::move(open_group));
  open_group.clear();
}
template <int kPending>
inline void cp_async_wait() {
  while (static_cast<int>(committed.size()) > kPending) {
    for (const PendingCopy& c : committed.front()) {
      if (c.fill) {
        std::memcpy(c.dst, c.src, 16);
      } else {
        std::memset(c.dst, 0, 16);
      }
    }
    committed.erase(committed.begin());
  }
}

}  // namespace voiceman::primitives::cuda
