#pragma once
// Transformer building blocks composed from ops: pre-norm attention and feed-forward
// blocks as Whisper uses them. Layers own weights; callers own activations.
#include <span>

#include "voiceman/engine/ops/ops.h"

namespace voiceman::layers {

struct LayerNorm {
  Tensor gamma, beta;
  float eps = 1e-5f;
  void forward(const ExecContext& ctx, const Tensor& x, Tensor& y) const {
    ops::layer_norm(ctx, x, gamma, beta, eps, y);
  }
};

// A decoder step's index tables on the step's device, int32 [rows] each. The decoder
// uploads them once per step, so the layers' step code queues no host copies (a CUDA
// graph can replay it).
struct StepIndex {
  Tensor positions;  // row r's next cache position: the tokens already in its cache
  Tensor slots;      // row r's self-attention cache slot (r)
  Tensor visible;    // positions + 1: the cache entries row r attends to
  Tensor sources;    // row r's encoder window
  Tensor frames;     // the encoder's frame count, for every row
};

// Scratch tensors reused across calls so steady-state decoding does not allocate.
struct Workspace {
  Tensor normed, qkv, q, k, v, context, hidden;
};

// x += fc2(gelu(fc1(ln(x)))), x is [rows, d].
struct FeedForward {
  LayerNorm ln;
  ops::LinearWeight fc1, fc2;
  void forward(const ExecContext& ctx, Tensor& x, Workspace& ws) const;
};

// Self-attention with fused QKV projection ([3d, d]) and output projection.
struct SelfAttention {
  LayerNorm ln;
  ops::LinearWeight qkv, out;
  int num_heads = 1;

  // Full-sequence form: x [batch * t, d] holds `batch` sequences of length t.
  // x += attn(ln(x)). When k_cache/v_cache are given ([batch, capacity, d] slices are
  // written at positions [0, t)), the keys and values are kept for later steps.
  void forward(const ExecContext& ctx, Tensor& x, int64_t batch, bool causal, Workspace& ws,
               Tensor* k_cache = nullptr, Tensor* v_cache = nullptr, int64_t cache_slot = 0) const;

  // One-token step for each row: appends each row's key/value at position
  // index.positions[r] of its cache slot r, then attends over index.visible[r] entries.
  void step(const ExecContext& ctx, Tensor& x, Tensor& k_cache, Tensor& v_cache,
            const StepIndex& index, Workspace& ws) const;
};

// Cross-attention: query projection [d, d], fused key/value projection [2d, d].
struct CrossAttention {
  LayerNorm ln;
  ops::LinearWeight q, kv, out;
  int num_heads = 1;

  // Projects encoder states [batch, frames, d] to keys and values [batch, frames, d].
  void project_memory(const ExecContext& ctx, const Tensor& memory, Tensor& keys,
                      Tensor& values) const;
  // Sequence form: x [batch * t, d] holds `batch` sequences of length t, sequence b
  // attending to keys/values slot `first_slot + b`. When weights is given it receives the
  // attention probabilities [batch, heads, t, frames].
  void forward(const ExecContext& ctx, Tensor& x, int64_t batch, const Tensor& keys,
               const Tensor& values, int64_t first_slot, Workspace& ws,
               Tensor* weights = nullptr) const;
  // Step form: row r attends to all frames of slot index.sources[r].
  void step(const ExecContext& ctx, Tensor& x, const Tensor& keys, const Tensor& values,
            const StepIndex& index, Workspace& ws) const;
  // The same over int8 keys and values.
  void step(const ExecContext& ctx, Tensor& x, const ops::QuantizedCache& keys,
            const ops::QuantizedCache& values, const StepIndex& index, Workspace& ws) const;
};

struct EncoderLayer {
  SelfAttention attention;
  FeedForward ffn;
  void forward(const ExecContext& ctx, Tensor& x, int64_t batch, Workspace& ws) const;
};

struct DecoderLayer {
  SelfAttention self_attention;
  CrossAttention cross_attention;
  FeedForward ffn;
};

}  // namespace voiceman::layers
