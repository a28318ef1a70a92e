#pragma once
// CPU kernels behind ops.h; the dispatcher calls these after shape checks.
#include "voiceman/engine/ops/ops.h"

namespace voiceman::ops::cpu {

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y);
void layer_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                float eps, Tensor& y);
void gelu(const ExecContext& ctx, Tensor& x);
void add(const ExecContext& ctx, Tensor& x, const Tensor& y);
void cast(const ExecContext& ctx, const Tensor& x, DType dtype, Tensor& y);
void softmax(const ExecContext& ctx, Tensor& x, bool log);
void conv1d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y);
void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& scales,
               std::span<const int32_t> ids, Tensor& y);
void attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               int num_heads, bool causal, Tensor& out, Tensor* weights);
void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out);
void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, std::span<const int32_t> kv_index,
                      std::span<const int32_t> lengths, int num_heads, Tensor& out);
void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out);
void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y);
void transpose_last2(const ExecContext& ctx, const Tensor& x, Tensor& y);
void copy_rows(const ExecContext& ctx, const Tensor& src, int64_t src_offset, int64_t src_pitch,
               Tensor& dst, int64_t dst_offset, int64_t dst_pitch, int64_t rows, int64_t width);
void copy_runs(const ExecContext& ctx, const Tensor& src, std::span<const int64_t> src_offsets,
               Tensor& dst, std::span<const int64_t> dst_offsets, std::span<const int64_t> widths);
void cache_append(const ExecContext& ctx, const Tensor& src, int64_t column,
                  std::span<const int32_t> positions, Tensor& cache);
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

}  // namespace voiceman::ops::cpu
