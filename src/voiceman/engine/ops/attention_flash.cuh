#pragma once
// Flash attention on mma.sync (sm_80 and later) for 64-wide heads in half or bfloat16,
// after FlashAttention-2: a block holds 128 queries of one (batch, head), 16 per warp;
// keys and values arrive in tiles of 64 through cp.async, two tiles in flight. Scores,
// probabilities and the output accumulator stay in registers: the score tile's
// accumulator layout is the probability operand's layout, so P never goes through
// shared memory. Device code only (attention_flash_cuda.cu launches it).
#include <cmath>
#include <cstdint>

#include "voiceman/engine/primitives/cuda_mma.cuh"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda::flash {

constexpr int kHead = 64;           // head width
constexpr int kWarps = 8;           // 16 queries each
constexpr int kRows = 16 * kWarps;  // queries per block
constexpr int kKeys = 64;           // keys per tile
constexpr int kThreads = 32 * kWarps;
constexpr int kPitch = kHead + 8;  // 144-byte rows: ldmatrix reads 8 rows without conflicts
constexpr int kStage = 2 * kKeys * kPitch;  // one K tile and one V tile, in elements
constexpr size_t kSmemBytes = 2 * kStage * 2;
// Launched without the opt-in attribute, so the stages must fit the default 48 KB.
static_assert(kSmemBytes <= 48 * 1024);

// Starts copying keys [k0, k0 + kKeys) of K and V into `stage`; rows past `keys` are zeros.
template <typename T>
__device__ __forceinline__ void load_kv(const T* k, const T* v, int ld, int k0, int keys,
                                        T* stage) {
  constexpr int kPieces = kKeys * kHead / 8;  // 16 bytes each
  for (int c = threadIdx.x; c < kPieces; c += kThreads) {
    const int row = c / (kHead / 8), col = (c % (kHead / 8)) * 8;
    const bool inside = k0 + row < keys;
    const int64_t at = inside ? int64_t{k0 + row} * ld + col : 0;
    primitives::cuda::cp_async_16(stage + row * kPitch + col, k + at, inside);
    primitives::cuda::cp_async_16(stage + (kKeys + row) * kPitch + col, v + at, inside);
  }
}

// Row pitches, in elements: a packed QKV projection is read in place with q_ld = kv_ld =
// 3 * model, and separate tensors with model.
struct Pitches {
  int q, kv, out;
};

// q [batch, tq, q_ld], k/v [batch, tk, kv_ld], out [batch, tq, out_ld], with head h at
// columns [64h, 64h + 64) of each row. Query i sees keys [0, tk - tq + i] when causal
// (tq <= tk), all keys otherwise. scale_log2 is the softmax scale times log2(e).
// kMinBlocks 2 holds the kernel to 128 registers so two blocks share an SM (ptxas spills a
// few bytes); 1 lets it take what it needs.
template <typename T, int kMinBlocks = 2>
__global__ void __launch_bounds__(kThreads, kMinBlocks)
    mma_kernel(const T* q, const T* k, const T* v, T* out, int tq, int tk, Pitches ld, bool causal,
               float scale_log2) {
  namespace prim = primitives::cuda;
  T* stages = prim::dynamic_shared<T>();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int first = blockIdx.x * kRows;          // the block's first query
  const int row0 = first + warp * 16;            // the warp's
  const int rows[2] = {row0 + g, row0 + g + 8};  // this thread's two
  const int64_t head = int64_t{blockIdx.y} * kHead;
  const T* qb = q + int64_t{blockIdx.z} * tq * ld.q + head;
  const T* kb = k + int64_t{blockIdx.z} * tk * ld.kv + head;
  const T* vb = v + int64_t{blockIdx.z} * tk * ld.kv + head;

  // Keys past the last visible one of the block (of the warp) are not loaded (computed).
  const int block_last = min(first + kRows, tq) - 1, warp_last = min(row0 + 16, tq) - 1;
  const int block_keys = causal ? tk - tq + block_last + 1 : tk;
  const int warp_keys = row0 >= tq ? 0 : causal ? tk - tq + warp_last + 1 : tk;
  const int tiles = (block_keys + kKeys - 1) / kKeys;

  // The warp's 16 x 64 queries as four A fragments, held for the whole key loop.
  uint32_t qf[kHead / 16][4];
#pragma unroll
  for (int c = 0; c < kHead / 16; ++c)
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int row = rows[i % 2], col = c * 16 + (i / 2) * 8 + 2 * t;
      qf[c][i] = row < tq ? *reinterpret_cast<const uint32_t*>(qb + int64_t{row} * ld.q + col) : 0u;
    }

  // Byte offsets of this lane's ldmatrix rows in a stage: K rows n*8 + lane % 8 at head
  // column (lane / 8) * 8; V rows (key) (lane / 8) % 2 * 8 + lane % 8 at column
  // (lane / 16) * 8. The tile loops add constants.
  const uint32_t k_lane = ((lane % 8) * kPitch + (lane / 8) * 8) * 2;
  const uint32_t v_lane = ((kKeys + (lane / 8) % 2 * 8 + lane % 8) * kPitch + (lane / 16) * 8) * 2;
  const uint32_t smem_base = prim::shared_address(stages);

  float o[kHead / 8][4] = {};                      // output accumulator, rows as C
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {};  // running max (log2 units) and sum

  if (tiles > 0) load_kv(kb, vb, ld.kv, 0, tk, stages);
  prim::cp_async_commit();
  for (int tile = 0; tile < tiles; ++tile) {
    if (tile + 1 < tiles)
      load_kv(kb, vb, ld.kv, (tile + 1) * kKeys, tk, stages + ((tile + 1) % 2) * kStage);
    prim::cp_async_commit();   // an empty group on the last tile keeps the count uniform
    prim::cp_async_wait<1>();  // this thread's copies of `tile` have landed
    __syncthreads();           // and every thread's
    const int k0 = tile * kKeys;
    if (k0 < warp_keys) {  // uniform across the warp
      const uint32_t stage = smem_base + (tile % 2) * kStage * 2;

      // S = Q K^T: key tile n (8 keys) is B = K[n*8 .. n*8+8][c*16 .. c*16+16]^T, two
      // head chunks per ldmatrix.
      float s[kKeys / 8][4];
#pragma unroll
      for (int n = 0; n < kKeys / 8; ++n) {
        s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
        for (int c = 0; c < kHead / 16; c += 2) {
          uint32_t kf[4];
          prim::ldmatrix_x4(kf, stage + k_lane + (n * 8 * kPitch + c * 16) * 2);
          prim::mma_16816<T>(s[n], qf[c], kf[0], kf[1]);
          prim::mma_16816<T>(s[n], qf[c + 1], kf[2], kf[3]);
        }
      }

      // Online softmax; a row's 64 scores are spread over the 4 lanes of its quad. Only
      // tiles that reach past the keys or the causal diagonal need the mask.
      const bool masked = k0 + kKeys > tk || (causal && k0 + kKeys - 1 > tk - tq + row0);
      float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int key = k0 + n * 8 + 2 * t + i % 2;
          const bool seen = !masked || (key < tk && (!causal || key <= tk - tq + rows[i / 2]));
          s[n][i] = seen ? s[n][i] * scale_log2 : -INFINITY;
          tile_max[i / 2] = fmaxf(tile_max[i / 2], s[n][i]);
        }
      float base[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
        const float new_max = fmaxf(m[r], tile_max[r]);
        base[r] = new_max == -INFINITY ? 0.f : new_max;  // nothing seen yet: keep zeros
        const float alpha = exp2f(m[r] - base[r]);
        m[r] = new_max;
        l[r] *= alpha;
#pragma unroll
        for (int n = 0; n < kHead / 8; ++n) {
          o[n][2 * r] *= alpha;
          o[n][2 * r + 1] *= alpha;
        }
      }
#pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          s[n][i] = exp2f(s[n][i] - base[i / 2]);
          l[i / 2] += s[n][i];
        }

        // O += P V: key tiles 2j and 2j + 1 form P's A fragment for keys [16j, 16j + 16);
        // V's B fragments come transposed, two head tiles per ldmatrix.
#pragma unroll
      for (int j = 0; j < kKeys / 16; ++j) {
        const uint32_t pf[4] = {prim::pack2<T>(s[2 * j][0], s[2 * j][1]),
                                prim::pack2<T>(s[2 * j][2], s[2 * j][3]),
                                prim::pack2<T>(s[2 * j + 1][0], s[2 * j + 1][1]),
                                prim::pack2<T>(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
        for (int n = 0; n < kHead / 8; n += 2) {
          uint32_t vf[4];
          prim::ldmatrix_x4_trans(vf, stage + v_lane + (j * 16 * kPitch + n * 8) * 2);
          prim::mma_16816<T>(o[n], pf, vf[0], vf[1]);
          prim::mma_16816<T>(o[n + 1], pf, vf[2], vf[3]);
        }
      }
    }
    __syncthreads();  // the stage is refilled by the next iteration's copies
  }

  // The quad's partial sums, then out = O / l (zero for a row that saw no key).
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (rows[r] >= tq) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    T* orow = out + (int64_t{blockIdx.z} * tq + rows[r]) * ld.out + head + 2 * t;
#pragma unroll
    for (int n = 0; n < kHead / 8; ++n)
      *reinterpret_cast<uint32_t*>(orow + n * 8) =
          prim::pack2<T>(o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
  }
}

}  // namespace voiceman::ops::cuda::flash
