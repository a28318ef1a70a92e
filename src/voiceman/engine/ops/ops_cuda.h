#pragma once
// CUDA kernels behind ops.h (files *_cuda.cu), called by the dispatcher after the shape
// checks. Activations may be float32, float16 or bfloat16; all operands of one call
// share that dtype, except int8 linear weights (with float32 scales) and attention
// weights (always float32). Arithmetic is float32 throughout.
#include <initializer_list>
#include <string>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::ops::cuda {

// accumulate: y += x W^T + b (ops::linear_add), with y's old values in the epilogue.
void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y,
            bool accumulate = false);
void layer_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                float eps, Tensor& y);
void gelu(const ExecContext& ctx, Tensor& x);
void add(const ExecContext& ctx, Tensor& x, const Tensor& y);
void cast(const ExecContext& ctx, const Tensor& x, DType dtype, Tensor& y);
void softmax(const ExecContext& ctx, Tensor& x, bool log);
void conv1d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y);
void embedding(const ExecContext& ctx, const Tensor& table, std::span<const int32_t> ids,
               Tensor& y);
// Attention without weights in half or bfloat16 with 64-wide heads takes a flash kernel
// (`automatic`: mma.sync, held to 128 registers so two blocks share an SM, which spills a
// few; `mma_one_block`: the same without that bound, no spills, one block per SM; `wmma`:
// the earlier WMMA one); other calls, and `materialized`, take cuBLAS with the whole score
// matrix. The choice is for timing them.
enum class AttentionKernel { automatic, mma_one_block, wmma, materialized };
void attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               int num_heads, bool causal, Tensor& out, Tensor* weights,
               AttentionKernel kernel = AttentionKernel::automatic);
// ops::attention_packed read in place (the flash kernel's shapes, T > 0). Returns false,
// having done nothing, where only the separate-tensor form applies.
bool attention_packed(const ExecContext& ctx, const Tensor& qkv, int num_heads, bool causal,
                      Tensor& out);
void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out);
void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& ids, Tensor& y);
// The decoder's kernel is picked by head width and alignment (`automatic`); `one_row`
// keeps one block per row where rows share a slot, and `generic` forces the
// one-thread-per-key kernel that serves any shape: for timing and testing them.
enum class CachedAttentionKernel { automatic, one_row, generic };
void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& kv_index, const Tensor& lengths, int num_heads, Tensor& out,
                      CachedAttentionKernel kernel = CachedAttentionKernel::automatic);
// Over int8 keys and values with their scales (ops::QuantizedCache), by the same kernels.
void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, const Tensor& kv_index, const Tensor& lengths,
                      int num_heads, Tensor& out,
                      CachedAttentionKernel kernel = CachedAttentionKernel::automatic);
void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, std::span<const int32_t> kv_index,
                      std::span<const int32_t> lengths, int num_heads, Tensor& out);
// out.data and out.scales allocated by the front end (quantize_cuda.cu).
void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out);
void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y);
void cache_append(const ExecContext& ctx, const Tensor& src, int64_t column,
                  const Tensor& positions, Tensor& cache);
void transpose_last2(const ExecContext& ctx, const Tensor& x, Tensor& y);
void copy_rows(const ExecContext& ctx, const Tensor& src, int64_t src_offset, int64_t src_pitch,
               Tensor& dst, int64_t dst_offset, int64_t dst_pitch, int64_t rows, int64_t width);
void copy_runs(const ExecContext& ctx, const Tensor& src, std::span<const int64_t> src_offsets,
               Tensor& dst, std::span<const int64_t> dst_offsets, std::span<const int64_t> widths);
void copy_runs(const ExecContext& ctx, const Tensor& src, const Tensor& runs, Tensor& dst);
void lstm(const ExecContext& ctx, const Tensor& x, const LstmWeights& w, bool reverse, Tensor& y,
          Tensor* h, Tensor* c);
void relu(const ExecContext& ctx, Tensor& x);
void sigmoid(const ExecContext& ctx, Tensor& x);
void complex_magnitude(const ExecContext& ctx, const Tensor& x, Tensor& y);
void instance_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   float eps, Tensor& y);
void max_pool1d(const ExecContext& ctx, const Tensor& x, int kernel, int stride, Tensor& y);
void leaky_relu(const ExecContext& ctx, Tensor& x, float slope);
void absolute(const ExecContext& ctx, Tensor& x);
void affine_rows(const ExecContext& ctx, Tensor& x, const Tensor& scale, const Tensor& shift);
void conv2d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y);

// Makes ctx.device current (DeviceError when there is no such device) and checks that
// every given operand lives on it.
inline void enter(const ExecContext& ctx, const char* op,
                  std::initializer_list<const Tensor*> operands) {
  voiceman::cuda::set_device(ctx.device);
  for (const Tensor* t : operands)
    if (t && !t->empty() && t->device() != ctx.device)
      throw DeviceError(std::string("op ") + op + ": an operand is on " + t->device().str() +
                        " but the op runs on " + ctx.device.str());
}

// Checks that the given operands have the activation dtype of the call.
inline void same_dtype(const char* op, DType dtype, std::initializer_list<const Tensor*> operands) {
  for (const Tensor* t : operands)
    if (t && !t->empty() && t->dtype() != dtype)
      throw Error(std::string("op ") + op + ": operand is " + dtype_name(t->dtype()) +
                  ", expected " + dtype_name(dtype));
}

}  // namespace voiceman::ops::cuda
