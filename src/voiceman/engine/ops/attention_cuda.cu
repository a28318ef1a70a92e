// Attention on CUDA: the flash kernels (attention_flash_cuda.cu) for half/bfloat16 with
// 64-wide heads, a cuBLAS path that materialises the probabilities (float32, or when the
// caller asks for them), and the decoder's one-query attention over a cache (its keys and
// values in the activation dtype, or int8 with scales).
#include <cmath>
#include <type_traits>
#include <vector>

#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/attention_cached.cuh"
#include "voiceman/engine/ops/attention_flash_cuda.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_gemm.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;
using cached::cached_attention_vec_kernel;
using cached::kCachedThreads;
using voiceman::cuda::check_launch;
using voiceman::cuda::stream_of;

namespace {

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// ---- Materialised attention: S = scale Q K^T (float32) -> softmax -> P V, per batch item.
template <typename T>
__global__ void attention_softmax_kernel(float* scores, T* probs, float* weights, int64_t tq,
                                         int64_t tk, bool causal) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x, i = r % tq;
  float* s = scores + r * tk;
  const int64_t visible = causal ? tk - tq + i + 1 : tk;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) mx = fmaxf(mx, s[j]);
  mx = prim::block_max(mx, scratch);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) sum += __expf(s[j] - mx);
  const float inv = 1.f / prim::block_sum(sum, scratch);
  for (int64_t j = threadIdx.x; j < tk; j += blockDim.x) {
    const float p = j < visible ? __expf(s[j] - mx) * inv : 0.f;
    if (weights) weights[r * tk + j] = p;
    probs[r * tk + j] = prim::from_float<T>(p);  // may alias s when T is float
  }
}

template <typename T>
void materialized_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k,
                            const Tensor& v, int num_heads, bool causal, Tensor& out,
                            Tensor* weights) {
  const int64_t batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), model = q.dim(2);
  const int64_t dh = model / num_heads, per_item = num_heads * tq * tk;
  Tensor scores({num_heads, tq, tk}, DType::f32, ctx.device);
  Tensor probs_storage;
  if (q.dtype() != DType::f32) probs_storage = Tensor({num_heads, tq, tk}, q.dtype(), ctx.device);
  T* probs = q.dtype() == DType::f32 ? reinterpret_cast<T*>(scores.data<float>())
                                     : probs_storage.data<T>();
  for (int64_t b = 0; b < batch; ++b) {
    prim::GemmArgs s;  // per head: [tq x dh] * [tk x dh]^T, heads dh apart in memory
    s.trans_b = true;
    s.m = static_cast<int>(tq);
    s.n = static_cast<int>(tk);
    s.k = static_cast<int>(dh);
    s.alpha = 1.f / std::sqrt(static_cast<float>(dh));
    s.a = q.data<T>() + b * tq * model;
    s.lda = model;
    s.stride_a = dh;
    s.b = k.data<T>() + b * tk * model;
    s.ldb = model;
    s.stride_b = dh;
    s.c = scores.data<float>();
    s.ldc = tk;
    s.stride_c = tq * tk;
    s.batch = num_heads;
    s.ab_type = q.dtype();
    s.c_type = DType::f32;
    prim::gemm(ctx, s);
    attention_softmax_kernel<T><<<static_cast<unsigned>(num_heads * tq), 256, 0, stream_of(ctx)>>>(
        scores.data<float>(), probs, weights ? weights->data<float>() + b * per_item : nullptr, tq,
        tk, causal);
    check_launch("attention softmax");
    prim::GemmArgs o;  // per head: [tq x tk] * [tk x dh]
    o.m = static_cast<int>(tq);
    o.n = static_cast<int>(dh);
    o.k = static_cast<int>(tk);
    o.a = probs;
    o.lda = tk;
    o.stride_a = tq * tk;
    o.b = v.data<T>() + b * tk * model;
    o.ldb = model;
    o.stride_b = dh;
    o.c = out.data<T>() + b * tq * model;
    o.ldc = model;
    o.stride_c = dh;
    o.batch = num_heads;
    o.ab_type = o.c_type = q.dtype();
    prim::gemm(ctx, o);
  }
}

// ---- Decoder step attention: one block per (row, head), scores for the row's keys in
// shared memory, then the weighted sum of values with the block split over keys. KV is T,
// or int8_t with scales [slots, capacity, heads] (as in the vectorised kernel).
template <typename T, typename KV>
__global__ void cached_attention_kernel(const T* q, const KV* k, const KV* v, const float* k_scales,
                                        const float* v_scales, const int32_t* kv_index,
                                        const int32_t* lengths, int64_t slots, int64_t capacity,
                                        int64_t model, int64_t dh, float scale, T* out) {
  constexpr bool kScaled = std::is_same_v<KV, int8_t>;
  extern __shared__ float shared[];
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x, h = blockIdx.y;
  // Tables that stay on the device are not checked on the host: clamp into the cache.
  const int64_t len = min(max(int64_t{lengths[r]}, int64_t{0}), capacity);
  const int64_t slot = min(max(int64_t{kv_index[r]}, int64_t{0}), slots - 1);
  if (len == 0) {  // nothing visible: a zero context instead of 0/0
    for (int64_t d = threadIdx.x; d < dh; d += blockDim.x)
      out[r * model + h * dh + d] = prim::from_float<T>(0.f);
    return;
  }
  float* qv = shared;                  // dh
  float* scores = shared + dh;         // capacity
  float* partial = scores + capacity;  // blockDim.x
  const T* qr = q + r * model + h * dh;
  const int64_t base = slot * capacity * model + h * dh;
  const int64_t heads = model / dh, scale_base = slot * capacity * heads + h;
  for (int64_t d = threadIdx.x; d < dh; d += blockDim.x) qv[d] = prim::to_float(qr[d]) * scale;
  __syncthreads();
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const KV* kr = k + base + j * model;
    float acc = 0.f;
    for (int64_t d = 0; d < dh; ++d) acc += qv[d] * prim::to_float(kr[d]);
    if constexpr (kScaled) acc *= k_scales[scale_base + j * heads];
    scores[j] = acc;
    mx = fmaxf(mx, acc);
  }
  mx = prim::block_max(mx, scratch);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const float p = __expf(scores[j] - mx);
    sum += p;
    scores[j] = kScaled ? p * v_scales[scale_base + j * heads] : p;  // the value's weight
  }
  const float inv = 1.f / prim::block_sum(sum, scratch);  // also orders the score writes
  // Groups of `width` threads each sum a strided subset of the keys for `width` value
  // dimensions; then the groups' partial sums are added.
  const int64_t threads = blockDim.x;
  const int64_t width = dh < threads ? dh : threads;
  const int64_t groups = threads / width;
  const int64_t g = threadIdx.x / width;
  for (int64_t d0 = 0; d0 < dh; d0 += width) {
    const int64_t d = d0 + threadIdx.x % width;
    float acc = 0.f;
    if (g < groups && d < dh)
      for (int64_t j = g; j < len; j += groups)
        acc += scores[j] * prim::to_float(v[base + j * model + d]);
    partial[threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.x < width && d < dh) {
      float total = 0.f;
      for (int64_t gg = 0; gg < groups; ++gg) total += partial[gg * width + threadIdx.x];
      out[r * model + h * dh + d] = prim::from_float<T>(total * inv);
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void embedding_kernel(const T* table, const int32_t* ids, int64_t rows, int64_t n,
                                 int64_t d, T* y) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n * d;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t id = min(max(int64_t{ids[i / d]}, int64_t{0}), rows - 1);
    y[i] = table[id * d + i % d];
  }
}

// The vectorised cached kernel's rows-per-block fit assumes kCachedStaticShared bytes of
// static shared memory; a compiler that laid it out larger would make some cache lengths
// fail to launch. Checked once per instance, against the kernel as compiled.
template <typename T, typename KV, int kLanes, int kRows>
void check_static_shared() {
  static const size_t bytes = [] {
    cudaFuncAttributes a{};
    voiceman::cuda::check(
        cudaFuncGetAttributes(&a, cached_attention_vec_kernel<T, KV, kLanes, kRows>),
        "cached_attention attributes");
    return a.sharedSizeBytes;
  }();
  if (bytes > cached::kCachedStaticShared)
    throw Error("cached_attention: the kernel has " + std::to_string(bytes) +
                " bytes of static shared memory, more than the " +
                std::to_string(cached::kCachedStaticShared) + " its launches allow for");
}

// Host index arrays go up in one copy on the kernel's stream.
Tensor upload(const ExecContext& ctx, std::initializer_list<std::span<const int32_t>> parts) {
  std::vector<int32_t> host;
  for (auto p : parts) host.insert(host.end(), p.begin(), p.end());
  Tensor t({static_cast<int64_t>(host.size())}, DType::i32, ctx.device);
  voiceman::cuda::upload(ctx, t.data<int32_t>(), host.data(), host.size() * sizeof(int32_t));
  return t;
}

// A cache as the kernels read it: keys and values of KV (T, or int8 with float32 scales).
template <typename KV>
struct CacheView {
  const KV* k;
  const KV* v;
  const float* k_scales;  // int8 only
  const float* v_scales;
  int64_t slots, capacity;
};

// The vectorised kernel where a lane's 16 bytes of keys tile the head (4 to 32 lanes) and
// the operands are 16-byte aligned; else the generic one. rows, slots and capacity > 0.
template <typename T, typename KV>
void launch_cached_attention(const ExecContext& ctx, const Tensor& q, const CacheView<KV>& kv,
                             const Tensor& kv_index, const Tensor& lengths, int num_heads,
                             Tensor& out, CachedAttentionKernel kernel) {
  const int64_t rows = q.dim(0), model = q.dim(1), capacity = kv.capacity, dh = model / num_heads;
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(num_heads));
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  // The default limit covers static and dynamic shared memory together (block_sum's
  // 32-float scratch is static).
  auto check_smem = [&](size_t smem, size_t limit = 48 * 1024 - 32 * sizeof(float)) {
    if (smem > limit)
      throw Error("cached_attention: a cache of " + std::to_string(capacity) +
                  " positions exceeds the kernel's shared memory");
  };
  const int64_t vec = 16 / static_cast<int64_t>(sizeof(KV)), lanes = dh / vec;
  const bool vectorised = kernel != CachedAttentionKernel::generic && dh % vec == 0 &&
                          (lanes == 4 || lanes == 8 || lanes == 16 || lanes == 32) &&
                          aligned16(q.data<char>()) && aligned16(kv.k) && aligned16(kv.v);
  if (vectorised) {
    // More rows than slots: some share one (a window's beams over its cross keys and
    // values), and a block takes a run of them, reading the slot once.
    const int fit = cached::cached_max_rows(capacity, dh);
    const bool grouped = kernel == CachedAttentionKernel::automatic && rows > kv.slots && fit > 1;
    const int max_rows = grouped ? fit : 1;
    const size_t smem = cached::cached_shared_bytes(capacity, dh, max_rows);
    check_smem(smem, cached::kCachedSharedLimit);
    auto launch = [&](auto kernel_fn) {
      kernel_fn<<<grid, kCachedThreads, smem, stream_of(ctx)>>>(
          q.data<T>(), kv.k, kv.v, kv.k_scales, kv.v_scales, kv_index.data<int32_t>(),
          lengths.data<int32_t>(), rows, kv.slots, capacity, model, scale, max_rows, out.data<T>());
    };
    auto launch_rows = [&]<int kLanes>() {
      if (grouped) {
        check_static_shared<T, KV, kLanes, cached::kCachedMaxRows>();
        launch(cached_attention_vec_kernel<T, KV, kLanes, cached::kCachedMaxRows>);
      } else {
        check_static_shared<T, KV, kLanes, 1>();
        launch(cached_attention_vec_kernel<T, KV, kLanes, 1>);
      }
    };
    switch (lanes) {
      case 4:
        launch_rows.template operator()<4>();
        break;
      case 8:
        launch_rows.template operator()<8>();
        break;
      case 16:
        launch_rows.template operator()<16>();
        break;
      default:
        launch_rows.template operator()<32>();
        break;
    }
  } else {
    constexpr int kThreads = 128;
    const size_t smem = sizeof(float) * (dh + capacity + kThreads);
    check_smem(smem);
    cached_attention_kernel<T, KV><<<grid, kThreads, smem, stream_of(ctx)>>>(
        q.data<T>(), kv.k, kv.v, kv.k_scales, kv.v_scales, kv_index.data<int32_t>(),
        lengths.data<int32_t>(), kv.slots, capacity, model, dh, scale, out.data<T>());
  }
  check_launch("cached_attention");
}

}  // namespace

void attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               int num_heads, bool causal, Tensor& out, Tensor* weights, AttentionKernel kernel) {
  enter(ctx, "attention", {&q, &k, &v, &out, weights});
  same_dtype("attention", q.dtype(), {&k, &v, &out});
  if (!q.numel() || !k.dim(1)) return;  // no keys: the front end wrote zeros
  if (!weights && kernel != AttentionKernel::materialized &&
      flash_attention_applies(q, k, v, out, num_heads))
    return flash_attention(ctx, q, k, v, num_heads, causal, out, kernel);
  prim::with_float_type(q.dtype(), "attention", [&](auto tag) {
    materialized_attention<decltype(tag)>(ctx, q, k, v, num_heads, causal, out, weights);
  });
}

bool attention_packed(const ExecContext& ctx, const Tensor& qkv, int num_heads, bool causal,
                      Tensor& out) {
  enter(ctx, "attention", {&qkv, &out});
  same_dtype("attention", qkv.dtype(), {&out});
  return flash_attention_packed(ctx, qkv, num_heads, causal, out);
}

namespace {

// Either form with host tables: they go up in one copy, then the device-table form runs
// (which checks the keys' and values' device).
template <typename Cache>
void cached_attention_host_tables(const ExecContext& ctx, const Tensor& q, const Cache& k,
                                  const Cache& v, std::span<const int32_t> kv_index,
                                  std::span<const int32_t> lengths, int num_heads, Tensor& out) {
  enter(ctx, "cached_attention", {&q, &out});
  if (!q.dim(0)) return;
  const Tensor index = upload(ctx, {kv_index, lengths});
  const int64_t rows = q.dim(0);
  cuda::cached_attention(ctx, q, k, v, index.slice_rows(0, rows), index.slice_rows(rows, 2 * rows),
                         num_heads, out);
}

}  // namespace

void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& kv_index, const Tensor& lengths, int num_heads, Tensor& out,
                      CachedAttentionKernel kernel) {
  enter(ctx, "cached_attention", {&q, &k, &v, &out, &kv_index, &lengths});
  same_dtype("cached_attention", q.dtype(), {&k, &v, &out});
  if (!q.dim(0) || !k.dim(0) || !k.dim(1)) return;
  prim::with_float_type(q.dtype(), "cached_attention", [&](auto tag) {
    using T = decltype(tag);
    launch_cached_attention<T>(
        ctx, q, CacheView<T>{k.data<T>(), v.data<T>(), nullptr, nullptr, k.dim(0), k.dim(1)},
        kv_index, lengths, num_heads, out, kernel);
  });
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out) {
  cached_attention_host_tables(ctx, q, k, v, kv_index, lengths, num_heads, out);
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, const Tensor& kv_index, const Tensor& lengths,
                      int num_heads, Tensor& out, CachedAttentionKernel kernel) {
  enter(ctx, "cached_attention",
        {&q, &k.data, &k.scales, &v.data, &v.scales, &out, &kv_index, &lengths});
  same_dtype("cached_attention", q.dtype(), {&out});
  same_dtype("cached_attention", DType::i8, {&k.data, &v.data});
  same_dtype("cached_attention", DType::f32, {&k.scales, &v.scales});
  if (!q.dim(0) || !k.data.dim(0) || !k.data.dim(1)) return;
  const CacheView<int8_t> cache{k.data.data<int8_t>(),  v.data.data<int8_t>(),
                                k.scales.data<float>(), v.scales.data<float>(),
                                k.data.dim(0),          k.data.dim(1)};
  prim::with_float_type(q.dtype(), "cached_attention", [&](auto tag) {
    launch_cached_attention<decltype(tag)>(ctx, q, cache, kv_index, lengths, num_heads, out,
                                           kernel);
  });
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, std::span<const int32_t> kv_index,
                      std::span<const int32_t> lengths, int num_heads, Tensor& out) {
  cached_attention_host_tables(ctx, q, k, v, kv_index, lengths, num_heads, out);
}

void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& ids, Tensor& y) {
  enter(ctx, "embedding", {&table, &ids, &y});
  const int64_t n = ids.numel(), d = table.dim(1);
  if (!n || !table.dim(0)) return;
  prim::with_float_type(table.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    embedding_kernel<T><<<prim::grid_for(n * d, 256), 256, 0, stream_of(ctx)>>>(
        table.data<T>(), ids.data<int32_t>(), table.dim(0), n, d, y.data<T>());
  });
  check_launch("embedding");
}

void embedding(const ExecContext& ctx, const Tensor& table, std::span<const int32_t> ids,
               Tensor& y) {
  enter(ctx, "embedding", {&table, &y});
  if (ids.empty()) return;
  embedding(ctx, table, upload(ctx, {ids}), y);
}

}  // namespace voiceman::ops::cuda
