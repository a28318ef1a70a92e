#pragma once
// Warp-level tensor-core building blocks for sm_80 and later: the 16x8x16 mma.sync with
// float accumulators, ldmatrix, and cp.async copies into shared memory. Register layouts
// are the PTX ISA's ("Matrix Fragments for mma.m16n8k16 with floating point type"):
// with g = lane / 4 and t = lane % 4, A holds rows g and g + 8, columns 2t, 2t + 1 and
// 2t + 8, 2t + 9; B holds rows (k) 2t, 2t + 1 and 2t + 8, 2t + 9 of column g; C holds
// rows g and g + 8, columns 2t and 2t + 1. The lower half of a register is the lower
// column (or row, for B).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace voiceman::primitives::cuda {

// d += A b for one 16x8x16 tile of T (half or bfloat16) with float accumulators.
#define VOICEMAN_MMA_16816(type)                         \
  "mma.sync.aligned.m16n8k16.row.col.f32." type "." type \
  ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "                  \
  "{%8,%9}, {%0,%1,%2,%3};\n"
template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1) {
  static_assert(std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>);
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(VOICEMAN_MMA_16816("f16")
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(VOICEMAN_MMA_16816("bf16")
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}
#undef VOICEMAN_MMA_16816

// Two floats rounded to T in one register, `lo` in the lower half.
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);

template <>
__device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
  const __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four 8x8 matrices of 16-bit values from shared memory (`row` from shared_address):
// lanes 8j to 8j + 7 give the addresses of matrix j's rows (16 bytes each), and r[j] gets
// that matrix's row g, columns 2t and 2t + 1 (the layout of an mma fragment).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(row));
}

// The same, transposed: r[j] gets rows 2t and 2t + 1 of matrix j's column g.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(row));
}

// Copies 16 bytes from global to shared memory without passing through registers; with
// `fill` false it writes zeros (src must still be a valid address).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool fill) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)),
               "l"(src), "r"(fill ? 16 : 0)
               : "memory");
}

// Closes the group of copies issued since the last commit.
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most `kPending` committed groups of this thread are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

}  // namespace voiceman::primitives::cuda
