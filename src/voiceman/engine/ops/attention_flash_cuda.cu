// The encoder's flash attention kernels: the mma.sync kernel (attention_flash.cuh), and
// the earlier WMMA kernel, kept to time the two against each other on a GPU. Both take
// half or bfloat16 with 64-wide heads; the scores never exist as a Tq x Tk matrix.
#include <mma.h>

#include <cmath>
#include <initializer_list>
#include <type_traits>

#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/attention_flash.cuh"
#include "voiceman/engine/ops/attention_flash_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;
using voiceman::cuda::check;
using voiceman::cuda::check_launch;
using voiceman::cuda::stream_of;

namespace {

// ---- The WMMA kernel: one block = 64 queries of one (batch, head); 4 warps of 16 rows.
// Keys are visited in tiles of 64 with an online softmax; scores and the output
// accumulator stay float32 in shared memory, and each warp walks its rows one by one.
constexpr int kDh = 64, kTile = 64, kLd = kDh + 8, kLdf = kTile + 4;
constexpr int kFlashThreads = 128;
constexpr int64_t kMaxGridZ = 65535;                  // the batch is grid.z in every flash launch
constexpr size_t kTileBytes = kTile * kLd * 2;        // one half/bf16 tile
constexpr size_t kFloatTileBytes = kTile * kLdf * 4;  // one float tile
constexpr size_t kFlashSmem = 4 * kTileBytes + 2 * kFloatTileBytes + 2 * kTile * 4;

template <typename T>
__device__ void load_tile(const T* src, int64_t ld, int64_t rows_left, T* dst) {
  // 64 rows x 64 values = 512 chunks of 16 bytes; rows past the end are zero.
  for (int c = threadIdx.x; c < kTile * kDh / 8; c += kFlashThreads) {
    const int row = c / 8, col = (c % 8) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < rows_left) v = *reinterpret_cast<const uint4*>(src + row * ld + col);
    *reinterpret_cast<uint4*>(dst + row * kLd + col) = v;
  }
}

template <typename T>
__global__ void __launch_bounds__(kFlashThreads)
    flash_attention_kernel(const T* q, const T* k, const T* v, T* out, int64_t tq, int64_t tk,
                           int64_t model, bool causal, float scale) {
  namespace wmma = nvcuda::wmma;
  extern __shared__ __align__(128) unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem);
  T* ks = reinterpret_cast<T*>(smem + kTileBytes);
  T* vs = reinterpret_cast<T*>(smem + 2 * kTileBytes);
  T* ps = reinterpret_cast<T*>(smem + 3 * kTileBytes);
  float* ss = reinterpret_cast<float*>(smem + 4 * kTileBytes);
  float* os = reinterpret_cast<float*>(smem + 4 * kTileBytes + kFloatTileBytes);
  float* row_max = reinterpret_cast<float*>(smem + 4 * kTileBytes + 2 * kFloatTileBytes);
  float* row_sum = row_max + kTile;

  const int64_t b = blockIdx.z, h = blockIdx.y, q0 = int64_t{blockIdx.x} * kTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* qb = q + (b * tq + q0) * model + h * kDh;
  const T* kb = k + b * tk * model + h * kDh;
  const T* vb = v + b * tk * model + h * kDh;

  load_tile(qb, model, tq - q0, qs);
  for (int i = threadIdx.x; i < kTile * kLdf; i += kFlashThreads) os[i] = 0.f;
  for (int i = threadIdx.x; i < kTile; i += kFlashThreads) {
    row_max[i] = -INFINITY;
    row_sum[i] = 0.f;
  }
  // Query i sees keys [0, tk - tq + i]: later tiles are skipped entirely.
  const int64_t last_row = (q0 + kTile < tq ? q0 + kTile : tq) - 1;
  const int64_t key_end = causal ? tk - tq + last_row + 1 : tk;  // <= tk as last_row < tq

  for (int64_t k0 = 0; k0 < key_end; k0 += kTile) {
    __syncthreads();  // previous tile fully consumed
    load_tile(kb + k0 * model, model, tk - k0, ks);
    load_tile(vb + k0 * model, model, tk - k0, vs);
    __syncthreads();

    // S[16 x 64] = Q_w K^T for this warp's rows.
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kTile / 16];
    for (int n = 0; n < kTile / 16; ++n) wmma::fill_fragment(acc[n], 0.f);
    for (int d = 0; d < kDh; d += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::load_matrix_sync(a, qs + warp * 16 * kLd + d, kLd);
      for (int n = 0; n < kTile / 16; ++n) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> bt;  // K^T
        wmma::load_matrix_sync(bt, ks + n * 16 * kLd + d, kLd);
        wmma::mma_sync(acc[n], a, bt, acc[n]);
      }
    }
    float* sw = ss + warp * 16 * kLdf;
    for (int n = 0; n < kTile / 16; ++n)
      wmma::store_matrix_sync(sw + n * 16, acc[n], kLdf, wmma::mem_row_major);
    __syncwarp();

    // Online softmax over the warp's 16 rows; each lane owns columns lane and lane + 32.
    for (int r = 0; r < 16; ++r) {
      const int row = warp * 16 + r;
      const int64_t qi = q0 + row;
      const int64_t visible = causal ? tk - tq + qi + 1 : tk;
      float s[2];
      for (int c = 0; c < 2; ++c) {
        const int64_t key = k0 + lane + 32 * c;
        s[c] = key < visible && key < tk ? sw[r * kLdf + lane + 32 * c] * scale : -INFINITY;
      }
      const float old_max = row_max[row];
      const float new_max = fmaxf(old_max, prim::warp_max(fmaxf(s[0], s[1])));
      const float base = new_max == -INFINITY ? 0.f : new_max;  // fully masked so far
      const float p0 = __expf(s[0] - base), p1 = __expf(s[1] - base);
      const float alpha = __expf(old_max - base);
      const float sum = prim::warp_sum(p0 + p1);
      ps[row * kLd + lane] = prim::from_float<T>(p0);
      ps[row * kLd + lane + 32] = prim::from_float<T>(p1);
      os[row * kLdf + lane] *= alpha;
      os[row * kLdf + lane + 32] *= alpha;
      __syncwarp();
      if (lane == 0) {
        row_max[row] = new_max;
        row_sum[row] = row_sum[row] * alpha + sum;
      }
    }
    __syncwarp();

    // O_w += P_w V, staged through the (now free) score rows of this warp.
    for (int n = 0; n < kDh / 16; ++n) wmma::fill_fragment(acc[n], 0.f);
    for (int j = 0; j < kTile; j += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::load_matrix_sync(a, ps + warp * 16 * kLd + j, kLd);
      for (int n = 0; n < kDh / 16; ++n) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bv;
        wmma::load_matrix_sync(bv, vs + j * kLd + n * 16, kLd);
        wmma::mma_sync(acc[n], a, bv, acc[n]);
      }
    }
    for (int n = 0; n < kDh / 16; ++n)
      wmma::store_matrix_sync(sw + n * 16, acc[n], kLdf, wmma::mem_row_major);
    __syncwarp();
    for (int i = lane; i < 16 * kDh; i += 32) {
      const int r = i / kDh, c = i % kDh;
      os[(warp * 16 + r) * kLdf + c] += sw[r * kLdf + c];
    }
  }
  __syncwarp();
  for (int i = lane; i < 16 * kDh; i += 32) {
    const int row = warp * 16 + i / kDh, c = i % kDh;
    if (q0 + row < tq)
      out[(b * tq + q0 + row) * model + h * kDh + c] =
          prim::from_float<T>(os[row * kLdf + c] / row_sum[row]);
  }
}

template <typename T>
void wmma_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                    int num_heads, bool causal, Tensor& out) {
  const int64_t batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), model = q.dim(2);
  auto kernel = flash_attention_kernel<T>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(kFlashSmem)),
        "flash attention smem");
  const dim3 grid(static_cast<unsigned>((tq + kTile - 1) / kTile), static_cast<unsigned>(num_heads),
                  static_cast<unsigned>(batch));
  kernel<<<grid, kFlashThreads, kFlashSmem, stream_of(ctx)>>>(
      q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), tq, tk, model, causal,
      1.f / std::sqrt(static_cast<float>(kDh)));
  check_launch("flash attention");
}

template <typename T, int kMinBlocks = 2>
void mma_attention(const ExecContext& ctx, const T* q, const T* k, const T* v, T* out,
                   int64_t batch, int64_t tq, int64_t tk, int num_heads, flash::Pitches ld,
                   bool causal) {
  const dim3 grid(static_cast<unsigned>((tq + flash::kRows - 1) / flash::kRows),
                  static_cast<unsigned>(num_heads), static_cast<unsigned>(batch));
  const float scale_log2 = 1.f / std::sqrt(static_cast<float>(flash::kHead)) * 1.4426950409f;
  flash::mma_kernel<T, kMinBlocks><<<grid, flash::kThreads, flash::kSmemBytes, stream_of(ctx)>>>(
      q, k, v, out, static_cast<int>(tq), static_cast<int>(tk), ld, causal, scale_log2);
  check_launch("flash attention");
}

// Half or bfloat16, 64-wide heads, rows of whole 16-byte pieces, every operand 16-byte
// aligned (cp.async's copies) and a batch that fits grid.z (the materialised path loops over
// any batch). Both forms, separate and packed, ask this.
bool kernel_applies(DType dtype, int64_t model, int num_heads, int64_t batch,
                    std::initializer_list<const void*> operands) {
  if (dtype == DType::f32 || model != int64_t{num_heads} * flash::kHead || model % 8) return false;
  if (batch > kMaxGridZ) return false;
  for (const void* p : operands)
    if (reinterpret_cast<uintptr_t>(p) % 16) return false;
  return true;
}

}  // namespace

bool flash_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                             int num_heads) {
  // The mma kernel stores pairs of elements, so out's alignment counts too.
  return kernel_applies(q.dtype(), q.dim(2), num_heads, q.dim(0),
                        {q.data<char>(), k.data<char>(), v.data<char>(), out.data<char>()});
}

void flash_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                     int num_heads, bool causal, Tensor& out, AttentionKernel kernel) {
  prim::with_float_type(q.dtype(), "flash attention", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>) {
      throw Error("flash attention: float32 takes the materialised path");
    } else if (kernel == AttentionKernel::wmma) {
      wmma_attention<T>(ctx, q, k, v, num_heads, causal, out);
    } else {
      const int model = static_cast<int>(q.dim(2));
      const flash::Pitches ld{model, model, model};
      if (kernel == AttentionKernel::mma_one_block) {
        mma_attention<T, 1>(ctx, q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), q.dim(0),
                            q.dim(1), k.dim(1), num_heads, ld, causal);
      } else {
        mma_attention<T>(ctx, q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), q.dim(0),
                         q.dim(1), k.dim(1), num_heads, ld, causal);
      }
    }
  });
}

bool flash_attention_packed(const ExecContext& ctx, const Tensor& qkv, int num_heads, bool causal,
                            Tensor& out) {
  const int64_t model = qkv.dim(2) / 3;
  if (qkv.numel() == 0) return true;  // nothing to attend; a grid of 0 blocks is no launch
  if (!kernel_applies(qkv.dtype(), model, num_heads, qkv.dim(0),
                      {qkv.data<char>(), out.data<char>()}))
    return false;
  prim::with_float_type(qkv.dtype(), "flash attention", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, float>) {
      // model % 8 keeps the key and value blocks 16-byte aligned, as cp.async needs.
      const T* base = qkv.data<T>();
      const int ld = static_cast<int>(3 * model);
      mma_attention<T>(ctx, base, base + model, base + 2 * model, out.data<T>(), qkv.dim(0),
                       qkv.dim(1), qkv.dim(1), num_heads, {ld, ld, static_cast<int>(model)},
                       causal);
    }
  });
  return true;
}

}  // namespace voiceman::ops::cuda
