#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               int num_heads, bool causal, Tensor& out, Tensor* weights) {
  if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || k.shape() != v.shape() ||
      q.dim(0) != k.dim(0) || q.dim(2) != k.dim(2) || num_heads <= 0 || q.dim(2) % num_heads)
    throw Error("attention: bad shapes q" + shape_str(q.shape()) + " k" + shape_str(k.shape()));
  if (causal && q.dim(1) > k.dim(1)) throw Error("attention: more queries than keys");
  // Probabilities stay float32 on every device: word alignment reads them.
  if (weights) weights->resize({q.dim(0), num_heads, q.dim(1), k.dim(1)}, DType::f32, ctx.device);
  out.resize(q.shape(), q.dtype(), ctx.device);
  if (!k.dim(1)) {       // no keys, nothing to attend to: zeros, on every device
    out.fill_zero(ctx);  // in out's own storage, like every op's output (graph workspaces)
    return;
  }
  VOICEMAN_DISPATCH(ctx, attention, ctx, q, k, v, num_heads, causal, out, weights);
}

void attention_packed(const ExecContext& ctx, const Tensor& qkv, int num_heads, bool causal,
                      Tensor& out) {
  if (qkv.rank() != 3 || qkv.dim(2) % 3 || num_heads <= 0 || (qkv.dim(2) / 3) % num_heads)
    throw Error("attention_packed: bad shape qkv" + shape_str(qkv.shape()) + " for " +
                std::to_string(num_heads) + " heads");
  const int64_t batch = qkv.dim(0), t = qkv.dim(1), model = qkv.dim(2) / 3;
#ifdef VOICEMAN_CUDA
  if (!ctx.device.is_cpu() && batch > 0 && t > 0) {  // a grid of 0 blocks is no launch
    out.resize({batch, t, model}, qkv.dtype(), ctx.device);
    if (cuda::attention_packed(ctx, qkv, num_heads, causal, out)) return;
  }
#endif
  const Tensor flat = qkv.reshape({batch * t, 3 * model});
  Tensor q({batch * t, model}, qkv.dtype(), ctx.device), k(q.shape(), qkv.dtype(), ctx.device),
      v(q.shape(), qkv.dtype(), ctx.device);
  copy_rows(ctx, flat, 0, 3 * model, q, 0, model, batch * t, model);
  copy_rows(ctx, flat, model, 3 * model, k, 0, model, batch * t, model);
  copy_rows(ctx, flat, 2 * model, 3 * model, v, 0, model, batch * t, model);
  attention(ctx, q.reshape({batch, t, model}), k.reshape({batch, t, model}),
            v.reshape({batch, t, model}), num_heads, causal, out);
}

namespace {

// Rows to attend need a cache to attend over. A GPU kernel cannot check the device tables
// without a sync and clamps them, so the shape is refused here, on either device.
void check_not_empty(const Tensor& q, const Tensor& keys) {
  if (q.dim(0) > 0 && (keys.dim(0) == 0 || keys.dim(1) == 0))
    throw Error("cached_attention: " + std::to_string(q.dim(0)) +
                " rows to attend over an empty cache " + shape_str(keys.shape()));
}

// The operands' shapes, for each form of keys and values.
void check_operands(const Tensor& q, const Tensor& k, const Tensor& v, int num_heads) {
  if (q.rank() != 2 || k.rank() != 3 || k.shape() != v.shape() || k.dim(2) != q.dim(1) ||
      num_heads <= 0 || q.dim(1) % num_heads)
    throw Error("cached_attention: bad shapes q" + shape_str(q.shape()) + " k" +
                shape_str(k.shape()));
  check_not_empty(q, k);
}

void check_operands(const Tensor& q, const QuantizedCache& k, const QuantizedCache& v,
                    int num_heads) {
  auto bad = [&](const std::string& why) {
    throw Error("cached_attention: " + why + " (q" + shape_str(q.shape()) + ", k" +
                shape_str(k.data.shape()) + ", k scales" + shape_str(k.scales.shape()) + ")");
  };
  if (q.rank() != 2 || num_heads <= 0 || q.dim(1) % num_heads) bad("bad query shape");
  for (const QuantizedCache* c : {&k, &v}) {
    if (c->data.dtype() != DType::i8 || c->scales.dtype() != DType::f32)
      bad("an int8 cache needs int8 data and float32 scales");
    if (c->data.rank() != 3 || c->data.dim(2) != q.dim(1) || c->data.shape() != k.data.shape())
      bad("keys and values must both be [slots, capacity, " + std::to_string(q.dim(1)) + "]");
    if (c->scales.rank() != 3 || c->scales.dim(0) != c->data.dim(0) ||
        c->scales.dim(1) != c->data.dim(1) || c->scales.dim(2) != num_heads)
      bad("scales must be [slots, capacity, " + std::to_string(num_heads) + "]");
  }
  check_not_empty(q, k.data);
}

// The keys' [slots, capacity, H*Dh] tensor.
const Tensor& keys_of(const Tensor& k) { return k; }
const Tensor& keys_of(const QuantizedCache& k) { return k.data; }

// Both forms with host tables: every row's slot and length checked.
template <typename Cache>
void cached_attention_rows(const ExecContext& ctx, const Tensor& q, const Cache& k, const Cache& v,
                           std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                           int num_heads, Tensor& out) {
  check_operands(q, k, v, num_heads);
  if (static_cast<int64_t>(kv_index.size()) != q.dim(0) || lengths.size() != kv_index.size())
    throw Error("cached_attention: one slot and one length per query row");
  const int64_t slots = keys_of(k).dim(0), capacity = keys_of(k).dim(1);
  for (size_t r = 0; r < kv_index.size(); ++r)
    if (kv_index[r] < 0 || kv_index[r] >= slots || lengths[r] <= 0 || lengths[r] > capacity)
      throw Error("cached_attention: row " + std::to_string(r) + " out of range");
  out.resize(q.shape(), q.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, cached_attention, ctx, q, k, v, kv_index, lengths, num_heads, out);
}

// Both forms with device tables: the CPU reads the tables where they are, with every
// value checked; a GPU's kernels clamp them.
template <typename Cache>
void cached_attention_tables(const ExecContext& ctx, const Tensor& q, const Cache& k,
                             const Cache& v, const Tensor& kv_index, const Tensor& lengths,
                             int num_heads, Tensor& out) {
  const int64_t rows = q.rank() == 2 ? q.dim(0) : 0;
  check_index_table(ctx, "cached_attention", kv_index, rows);
  check_index_table(ctx, "cached_attention", lengths, rows);
  if (ctx.device.is_cpu())
    return cached_attention_rows(ctx, q, k, v, kv_index.span<int32_t>(), lengths.span<int32_t>(),
                                 num_heads, out);
  check_operands(q, k, v, num_heads);
  out.resize(q.shape(), q.dtype(), ctx.device);
#ifdef VOICEMAN_CUDA
  cuda::cached_attention(ctx, q, k, v, kv_index, lengths, num_heads, out);
#else
  no_backend(ctx, "cached_attention");
#endif
}

}  // namespace

void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out) {
  cached_attention_rows(ctx, q, k, v, kv_index, lengths, num_heads, out);
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, std::span<const int32_t> kv_index,
                      std::span<const int32_t> lengths, int num_heads, Tensor& out) {
  cached_attention_rows(ctx, q, k, v, kv_index, lengths, num_heads, out);
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& kv_index, const Tensor& lengths, int num_heads, Tensor& out) {
  cached_attention_tables(ctx, q, k, v, kv_index, lengths, num_heads, out);
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, const Tensor& kv_index, const Tensor& lengths,
                      int num_heads, Tensor& out) {
  cached_attention_tables(ctx, q, k, v, kv_index, lengths, num_heads, out);
}

namespace {

// A float table has no scales; an int8 one (the CPU only) has one float32 scale per row.
// The CPU's tables are float32 or int8.
void check_table(const ExecContext& ctx, const Tensor& table, const Tensor& scales, int64_t ids) {
  if (table.rank() != 2) throw Error("embedding: table must be 2-D");
  // A GPU's kernel clamps device ids, so rows from a table with none are refused here.
  if (ids > 0 && table.dim(0) == 0)
    throw Error("embedding: " + std::to_string(ids) + " ids into an empty table " +
                shape_str(table.shape()));
  if (ctx.device.is_cpu() && table.dtype() != DType::f32 && table.dtype() != DType::i8)
    throw Error("embedding: a CPU table is float32 or int8, not " + dtype_name(table.dtype()));
  if (table.dtype() != DType::i8) {
    if (!scales.empty()) throw Error("embedding: scales given for a float table");
    return;
  }
  if (!ctx.device.is_cpu())
    throw Error("embedding: an int8 table is for the CPU; on " + ctx.device.str() +
                " the table is kept in the activation dtype");
  if (scales.dtype() != DType::f32 || scales.rank() != 1 || scales.dim(0) != table.dim(0) ||
      !scales.device().is_cpu())
    throw Error("embedding: an int8 table needs float32 scales [" + std::to_string(table.dim(0)) +
                "] on the CPU");
}

}  // namespace

void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& ids, Tensor& y) {
  embedding(ctx, table, Tensor(), ids, y);
}

void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& scales, const Tensor& ids,
               Tensor& y) {
  check_index_table(ctx, "embedding", ids, ids.numel());
  if (ctx.device.is_cpu()) return embedding(ctx, table, scales, ids.span<int32_t>(), y);
  check_table(ctx, table, scales, ids.numel());
  y.resize({ids.dim(0), table.dim(1)}, table.dtype(), ctx.device);
#ifdef VOICEMAN_CUDA
  cuda::embedding(ctx, table, ids, y);
#else
  no_backend(ctx, "embedding");
#endif
}

void embedding(const ExecContext& ctx, const Tensor& table, std::span<const int32_t> ids,
               Tensor& y) {
  embedding(ctx, table, Tensor(), ids, y);
}

void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& scales,
               std::span<const int32_t> ids, Tensor& y) {
  check_table(ctx, table, scales, static_cast<int64_t>(ids.size()));
  for (int32_t id : ids)
    if (id < 0 || id >= table.dim(0)) throw Error("embedding: id out of range");
  const DType out = table.dtype() == DType::i8 ? DType::f32 : table.dtype();
  y.resize({static_cast<int64_t>(ids.size()), table.dim(1)}, out, ctx.device);
  if (ctx.device.is_cpu()) return cpu::embedding(ctx, table, scales, ids, y);
#ifdef VOICEMAN_CUDA
  cuda::embedding(ctx, table, ids, y);
#else
  no_backend(ctx, "embedding");
#endif
}

}  // namespace voiceman::ops
