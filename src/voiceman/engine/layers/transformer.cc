#include "voiceman/engine/layers/transformer.h"

#include <vector>

namespace voiceman::layers {
namespace {

// Copies columns [col, col + width) of a [rows, stride] matrix into dst [rows, width].
void take_columns(const ExecContext& ctx, const Tensor& src, int64_t col, int64_t width,
                  Tensor& dst) {
  const int64_t rows = src.dim(0), stride = src.dim(1);
  dst.resize({rows, width}, src.dtype(), ctx.device);
  ops::copy_rows(ctx, src, col, stride, dst, 0, width, rows, width);
}

}  // namespace

void FeedForward::forward(const ExecContext& ctx, Tensor& x, Workspace& ws) const {
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, fc1, ws.hidden);
  ops::gelu(ctx, ws.hidden);
  ops::linear_add(ctx, ws.hidden, fc2, x);
}

void SelfAttention::forward(const ExecContext& ctx, Tensor& x, int64_t batch, bool causal,
                            Workspace& ws, Tensor* k_cache, Tensor* v_cache,
                            int64_t cache_slot) const {
  const int64_t rows = x.dim(0), d = x.dim(1), t = rows / batch;
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, qkv, ws.qkv);
  if (k_cache && v_cache) {
    take_columns(ctx, ws.qkv, 0, d, ws.q);
    take_columns(ctx, ws.qkv, d, d, ws.k);
    take_columns(ctx, ws.qkv, 2 * d, d, ws.v);
    // Sequence b's [t, d] keys/values go to the start of cache slot cache_slot + b.
    const int64_t capacity = k_cache->dim(1);
    ops::copy_rows(ctx, ws.k, 0, t * d, *k_cache, cache_slot * capacity * d, capacity * d, batch,
                   t * d);
    ops::copy_rows(ctx, ws.v, 0, t * d, *v_cache, cache_slot * capacity * d, capacity * d, batch,
                   t * d);
    ops::attention(ctx, ws.q.reshape({batch, t, d}), ws.k.reshape({batch, t, d}),
                   ws.v.reshape({batch, t, d}), num_heads, causal, ws.context);
  } else {  // nothing is kept (the encoder): a GPU reads Q, K and V where the projection put them
    ops::attention_packed(ctx, ws.qkv.reshape({batch, t, 3 * d}), num_heads, causal, ws.context);
  }
  ws.context = ws.context.reshape({rows, d});
  ops::linear_add(ctx, ws.context, out, x);
}

void SelfAttention::step(const ExecContext& ctx, Tensor& x, Tensor& k_cache, Tensor& v_cache,
                         const StepIndex& index, Workspace& ws) const {
  const int64_t d = x.dim(1);
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, qkv, ws.qkv);
  take_columns(ctx, ws.qkv, 0, d, ws.q);
  ops::cache_append(ctx, ws.qkv, d, index.positions, k_cache);
  ops::cache_append(ctx, ws.qkv, 2 * d, index.positions, v_cache);
  ops::cached_attention(ctx, ws.q, k_cache, v_cache, index.slots, index.visible, num_heads,
                        ws.context);
  ops::linear_add(ctx, ws.context, out, x);
}

void CrossAttention::project_memory(const ExecContext& ctx, const Tensor& memory, Tensor& keys,
                                    Tensor& values) const {
  const int64_t batch = memory.dim(0), frames = memory.dim(1), d = memory.dim(2);
  Tensor flat = memory.reshape({batch * frames, d});
  Tensor both;
  ops::linear(ctx, flat, kv, both);
  Tensor k2, v2;
  take_columns(ctx, both, 0, d, k2);
  take_columns(ctx, both, d, d, v2);
  keys = k2.reshape({batch, frames, d});
  values = v2.reshape({batch, frames, d});
}

void CrossAttention::forward(const ExecContext& ctx, Tensor& x, int64_t batch, const Tensor& keys,
                             const Tensor& values, int64_t first_slot, Workspace& ws,
                             Tensor* weights) const {
  const int64_t rows = x.dim(0), d = x.dim(1), t = rows / batch;
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, q, ws.q);
  const Tensor q3 = ws.q.reshape({batch, t, d});
  ops::attention(ctx, q3, keys.slice_rows(first_slot, first_slot + batch),
                 values.slice_rows(first_slot, first_slot + batch), num_heads, false, ws.context,
                 weights);
  ws.context = ws.context.reshape({rows, d});
  ops::linear_add(ctx, ws.context, out, x);
}

void CrossAttention::step(const ExecContext& ctx, Tensor& x, const Tensor& keys,
                          const Tensor& values, const StepIndex& index, Workspace& ws) const {
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, q, ws.q);
  ops::cached_attention(ctx, ws.q, keys, values, index.sources, index.frames, num_heads,
                        ws.context);
  ops::linear_add(ctx, ws.context, out, x);
}

void CrossAttention::step(const ExecContext& ctx, Tensor& x, const ops::QuantizedCache& keys,
                          const ops::QuantizedCache& values, const StepIndex& index,
                          Workspace& ws) const {
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, q, ws.q);
  ops::cached_attention(ctx, ws.q, keys, values, index.sources, index.frames, num_heads,
                        ws.context);
  ops::linear_add(ctx, ws.context, out, x);
}

void EncoderLayer::forward(const ExecContext& ctx, Tensor& x, int64_t batch, Workspace& ws) const {
  attention.forward(ctx, x, batch, false, ws);
  ffn.forward(ctx, x, ws);
}

}  // namespace voiceman::layers
