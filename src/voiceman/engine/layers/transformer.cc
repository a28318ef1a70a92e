#include "voiceman/engine/layers/transformer.h"

#include <cstring>
#include <vector>

namespace voiceman::layers {
namespace {

// Copies columns [col, col + width) of a [rows, stride] matrix into dst [rows, width].
void take_columns(const Tensor& src, int64_t col, int64_t width, Tensor& dst) {
  const int64_t rows = src.dim(0), stride = src.dim(1);
  dst.resize({rows, width});
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst.data<float>() + r * width, src.data<float>() + r * stride + col,
                sizeof(float) * width);
}

}  // namespace

void FeedForward::forward(const ExecContext& ctx, Tensor& x, Workspace& ws) const {
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, fc1, ws.hidden);
  ops::gelu(ctx, ws.hidden);
  ops::linear(ctx, ws.hidden, fc2, ws.projected);
  ops::add(ctx, x, ws.projected);
}

void SelfAttention::forward(const ExecContext& ctx, Tensor& x, int64_t batch, bool causal,
                            Workspace& ws, Tensor* k_cache, Tensor* v_cache,
                            int64_t cache_slot) const {
  const int64_t rows = x.dim(0), d = x.dim(1), t = rows / batch;
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, qkv, ws.qkv);
  take_columns(ws.qkv, 0, d, ws.q);
  take_columns(ws.qkv, d, d, ws.k);
  take_columns(ws.qkv, 2 * d, d, ws.v);
  if (k_cache && v_cache) {
    const int64_t capacity = k_cache->dim(1);
    for (int64_t b = 0; b < batch; ++b) {
      const size_t bytes = sizeof(float) * t * d;
      std::memcpy(k_cache->data<float>() + (cache_slot + b) * capacity * d,
                  ws.k.data<float>() + b * t * d, bytes);
      std::memcpy(v_cache->data<float>() + (cache_slot + b) * capacity * d,
                  ws.v.data<float>() + b * t * d, bytes);
    }
  }
  const Tensor q3 = ws.q.reshape({batch, t, d});
  const Tensor k3 = ws.k.reshape({batch, t, d});
  const Tensor v3 = ws.v.reshape({batch, t, d});
  ops::attention(ctx, q3, k3, v3, num_heads, causal, ws.context);
  ws.context = ws.context.reshape({rows, d});
  ops::linear(ctx, ws.context, out, ws.projected);
  ops::add(ctx, x, ws.projected);
}

void SelfAttention::step(const ExecContext& ctx, Tensor& x, Tensor& k_cache, Tensor& v_cache,
                         std::span<const int32_t> lengths, Workspace& ws) const {
  const int64_t rows = x.dim(0), d = x.dim(1), capacity = k_cache.dim(1);
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, qkv, ws.qkv);
  take_columns(ws.qkv, 0, d, ws.q);
  std::vector<int32_t> slots(rows), visible(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = ws.qkv.data<float>() + r * 3 * d;
    std::memcpy(k_cache.data<float>() + (r * capacity + lengths[r]) * d, src + d, sizeof(float) * d);
    std::memcpy(v_cache.data<float>() + (r * capacity + lengths[r]) * d, src + 2 * d,
                sizeof(float) * d);
    slots[r] = static_cast<int32_t>(r);
    visible[r] = lengths[r] + 1;
  }
  ops::cached_attention(ctx, ws.q, k_cache, v_cache, slots, visible, num_heads, ws.context);
  ops::linear(ctx, ws.context, out, ws.projected);
  ops::add(ctx, x, ws.projected);
}

void CrossAttention::project_memory(const ExecContext& ctx, const Tensor& memory, Tensor& keys,
                                    Tensor& values) const {
  const int64_t batch = memory.dim(0), frames = memory.dim(1), d = memory.dim(2);
  Tensor flat = memory.reshape({batch * frames, d});
  Tensor both;
  ops::linear(ctx, flat, kv, both);
  Tensor k2, v2;
  take_columns(both, 0, d, k2);
  take_columns(both, d, d, v2);
  keys = k2.reshape({batch, frames, d});
  values = v2.reshape({batch, frames, d});
}

void CrossAttention::forward(const ExecContext& ctx, Tensor& x, const Tensor& keys,
                             const Tensor& values, int64_t slot, Workspace& ws,
                             Tensor* weights) const {
  const int64_t t = x.dim(0), d = x.dim(1);
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, q, ws.q);
  const Tensor q3 = ws.q.reshape({1, t, d});
  ops::attention(ctx, q3, keys.slice_rows(slot, slot + 1), values.slice_rows(slot, slot + 1),
                 num_heads, false, ws.context, weights);
  ws.context = ws.context.reshape({t, d});
  ops::linear(ctx, ws.context, out, ws.projected);
  ops::add(ctx, x, ws.projected);
}

void CrossAttention::step(const ExecContext& ctx, Tensor& x, const Tensor& keys,
                          const Tensor& values, std::span<const int32_t> source,
                          Workspace& ws) const {
  ln.forward(ctx, x, ws.normed);
  ops::linear(ctx, ws.normed, q, ws.q);
  std::vector<int32_t> lengths(source.size(), static_cast<int32_t>(keys.dim(1)));
  ops::cached_attention(ctx, ws.q, keys, values, source, lengths, num_heads, ws.context);
  ops::linear(ctx, ws.context, out, ws.projected);
  ops::add(ctx, x, ws.projected);
}

void EncoderLayer::forward(const ExecContext& ctx, Tensor& x, int64_t batch, Workspace& ws) const {
  attention.forward(ctx, x, batch, false, ws);
  ffn.forward(ctx, x, ws);
}

}  // namespace voiceman::layers
