#pragma once
// The engine's operations. Each op validates shapes once here, then runs on the device
// named by the ExecContext. Ops know nothing about models. Outputs are (re)allocated on
// the context's device with the input's dtype; the CPU kernels take float32 only.
#include <cstdint>
#include <span>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"

namespace voiceman::ops {

// A linear layer's weight: float32 [out, in], or int8 [out, in] with one scale per row.
struct LinearWeight {
  Tensor weight;
  Tensor scales;  // float32 [out] when weight is int8
  Tensor bias;    // float32 [out] or empty
  int64_t out_features() const { return weight.dim(0); }
  int64_t in_features() const { return weight.dim(1); }
};

// y[rows, out] = x[rows, in] * W^T + b
void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y);

// y[rows, out] += x[rows, in] * W^T + b: a projection onto the residual stream. A GPU adds
// in the GEMM's epilogue, with no rounding of the product before the sum; the CPU runs
// linear() and then add().
void linear_add(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y);

// y = (x - mean) / sqrt(var + eps) * gamma + beta, over the last dimension.
void layer_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                float eps, Tensor& y);

// In place: x = gelu(x), the exact (erf) form Whisper uses.
void gelu(const ExecContext& ctx, Tensor& x);

// In place: x += y (same shape).
void add(const ExecContext& ctx, Tensor& x, const Tensor& y);

// y = x converted to dtype (float32, float16 or bfloat16; round to nearest even).
void cast(const ExecContext& ctx, const Tensor& x, DType dtype, Tensor& y);

// In place softmax over the last dimension; log_softmax when log is true.
void softmax(const ExecContext& ctx, Tensor& x, bool log = false);

// y[B, Cout, Tout] = conv1d(x[B, Cin, T], w[Cout, Cin, K]) + b, with stride and zero padding.
void conv1d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y);

// y[n, D] = table[ids[i], :] (+ position rows when positions are given).
void embedding(const ExecContext& ctx, const Tensor& table, std::span<const int32_t> ids,
               Tensor& y);
// The same over a table that may be int8 with one float32 scale per row (CTranslate2's
// layout, w = q / scale; scales is empty for a float table). An int8 table gives float32
// rows, as CTranslate2 gathers and dequantises an int8 model's embeddings. int8 tables
// are for the CPU: a GPU model keeps its table in its activation dtype.
void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& scales,
               std::span<const int32_t> ids, Tensor& y);

// Multi-head scaled dot-product attention for a batch of independent sequences.
// q [B, Tq, H*Dh], k/v [B, Tk, H*Dh] -> out [B, Tq, H*Dh]. With causal, query i sees
// keys [0, Tk - Tq + i]. When weights is non-null it receives softmax(QK^T) [B, H, Tq, Tk].
void attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               int num_heads, bool causal, Tensor& out, Tensor* weights = nullptr);

// Self-attention over a fused projection: qkv [B, T, 3*H*Dh] holds each position's query,
// key and value side by side -> out [B, T, H*Dh]; equal to attention() on the three column
// blocks. A GPU's flash kernel reads them in place; elsewhere they are copied out first.
void attention_packed(const ExecContext& ctx, const Tensor& qkv, int num_heads, bool causal,
                      Tensor& out);

// One query per row against a key/value cache: q [rows, H*Dh]; k/v [slots, capacity, H*Dh].
// Row r attends to the first lengths[r] entries of slot kv_index[r]. This is the decoder's
// step attention (self-attention over its cache, cross-attention over encoder states).
void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out);

// The same two ops with their index tables already on ctx's device (int32, one entry per
// row). The decoder uploads a step's tables once, into buffers that stay in place, so
// the step can be replayed as a CUDA graph. On a GPU the values are not read back to be
// checked; the kernels clamp them into the operands' bounds instead.
void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& ids, Tensor& y);
void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& scales, const Tensor& ids,
               Tensor& y);
void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& kv_index, const Tensor& lengths, int num_heads, Tensor& out);

// Keys or values held as int8 with one float32 scale per (slot, position, head): an entry
// is data * scale. Half the bytes of float16 (a quarter of float32); the decoder keeps its
// cross-attention keys and values this way when asked, since reading them is most of a
// GPU decoder step's memory traffic (bench/GPU.md).
struct QuantizedCache {
  Tensor data;    // int8 [slots, capacity, H*Dh]
  Tensor scales;  // float32 [slots, capacity, H]
};

// Per row and head of x [N, H*Dh] (float32, float16 or bfloat16): scale = max|x| / 127 (1
// for a head of zeros), data = x / scale rounded to nearest even and clamped to +-127.
// Values that are not finite (a float16 overflow) leave the peak alone: NaN stores 0,
// an infinity +-127, the same bytes on every device.
// out.data is int8 [N, H*Dh], out.scales float32 [N, H], both on x's device. x is then
// overwritten with data * scale in its own dtype: the values the int8 copy holds, which
// dequantize_heads gives back.
void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out);
// The inverse: y [N, H*Dh] in `dtype` = data * scale rounded into it, the values
// quantize_heads left in x. q.data int8 [N, H*Dh], q.scales float32 [N, H] on ctx's device.
void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y);

// cached_attention over int8 keys and values of shape [slots, capacity, H*Dh] with their
// scales; q and out keep the activation dtype. Equal, up to rounding, to the float form
// over data * scale.
void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, std::span<const int32_t> kv_index,
                      std::span<const int32_t> lengths, int num_heads, Tensor& out);
void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, const Tensor& kv_index, const Tensor& lengths,
                      int num_heads, Tensor& out);

// Transposes the last two dimensions: x [B, M, N] -> y [B, N, M].
void transpose_last2(const ExecContext& ctx, const Tensor& x, Tensor& y);

// Data movement inside one device, in elements of the tensors' (shared) dtype. These are
// how layers and models move activations and cache entries without touching memory
// from the host.
//
// Strided: run r (r < rows) copies `width` elements from src[src_offset + r * src_pitch]
// to dst[dst_offset + r * dst_pitch].
void copy_rows(const ExecContext& ctx, const Tensor& src, int64_t src_offset, int64_t src_pitch,
               Tensor& dst, int64_t dst_offset, int64_t dst_pitch, int64_t rows, int64_t width);
// Arbitrary runs: run r copies widths[r] elements from src[src_offsets[r]] to
// dst[dst_offsets[r]]. Runs must not overlap when src and dst are the same tensor.
void copy_runs(const ExecContext& ctx, const Tensor& src, std::span<const int64_t> src_offsets,
               Tensor& dst, std::span<const int64_t> dst_offsets, std::span<const int64_t> widths);
// The same with the table already on ctx's device, so one upload can serve many calls:
// `runs` holds the int64 source offsets, then the destination offsets, then the widths
// (n of each), stored as int32 [6 * n] since there is no int64 dtype. On the CPU the runs
// are checked as above; on a GPU each run is clamped into both tensors instead.
void copy_runs(const ExecContext& ctx, const Tensor& src, const Tensor& runs, Tensor& dst);

// The decoder's cache write: row r of src [rows, width], columns [column, column + D),
// goes to position positions[r] of slot r of cache [slots >= rows, capacity, D].
// positions is int32 [rows] on ctx's device (clamped into the capacity on a GPU).
void cache_append(const ExecContext& ctx, const Tensor& src, int64_t column,
                  const Tensor& positions, Tensor& cache);

// One LSTM layer, one direction, PyTorch gate order (i, f, g, o):
// x [B, T, I] -> y [B, T, H]. w_ih [4H, I], w_hh [4H, H], bias [4H] = b_ih + b_hh (float32).
// h/c [B, H]: initial state when given and non-empty (zeros otherwise); they receive the
// final state.
// reverse runs t = T-1 .. 0 (the backward half of a bidirectional layer).
// w_ih and/or w_hh may instead be bfloat16 (CPU, where bf16_supported()): that matrix's
// products (the input projection, or the recurrent one) then take bf16 inputs with float32
// accumulation (about 1.5-3x the float32 rate); the gates, the cell and the outputs stay
// float32.
struct LstmWeights {
  Tensor w_ih;
  Tensor w_hh;
  Tensor bias;
  int64_t hidden() const { return w_hh.dim(1); }
  // A copy with w_ih (and w_hh when `recurrent`) in bfloat16; the bias stays float32.
  LstmWeights to_bf16(const ExecContext& ctx, bool recurrent = true) const;
};
// True when this CPU multiplies bfloat16 natively (oneDNN's avx512_core_bf16 or later).
bool bf16_supported();
// For a model's loader: every layer to_bf16(); ConfigError (naming `model`) unless the
// device is the CPU and bf16_supported().
void lstm_weights_to_bf16(std::span<LstmWeights> layers, Device device, const std::string& model,
                          bool recurrent = true);
void lstm(const ExecContext& ctx, const Tensor& x, const LstmWeights& w, bool reverse, Tensor& y,
          Tensor* h = nullptr, Tensor* c = nullptr);

// In place: x = max(x, 0).
void relu(const ExecContext& ctx, Tensor& x);
// In place: x = 1 / (1 + exp(-x)).
void sigmoid(const ExecContext& ctx, Tensor& x);

// Magnitude of a spectrum stored as [re | im] halves of the last dimension:
// x [..., 2F] -> y [..., F], y = sqrt(re^2 + im^2) (an STFT computed as one linear layer).
void complex_magnitude(const ExecContext& ctx, const Tensor& x, Tensor& y);

// Diarization front-end ops (pyannote's SincNet):
// y[B, C, T] = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c], statistics over T per
// (batch, channel) (InstanceNorm1d with affine, biased variance).
void instance_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   float eps, Tensor& y);
// y[B, C, Tout] = max over windows of `kernel` steps every `stride` (no padding, floor).
void max_pool1d(const ExecContext& ctx, const Tensor& x, int kernel, int stride, Tensor& y);
// In place: x = x >= 0 ? x : slope * x.
void leaky_relu(const ExecContext& ctx, Tensor& x, float slope = 0.01f);
// In place: x = |x|.
void absolute(const ExecContext& ctx, Tensor& x);
// In place, x viewed as R rows (R = scale.numel(), float32 scale/shift [R] on the op's
// device): row r = row r * scale[r] + shift[r].
void affine_rows(const ExecContext& ctx, Tensor& x, const Tensor& scale, const Tensor& shift);
// y[B, Cout, Hout, Wout] = conv2d(x[B, Cin, H, W], w[Cout, Cin, KH, KW]) (+ b[Cout] when
// non-empty), the same stride and zero padding on both axes (WeSpeaker's ResNet).
void conv2d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y);

}  // namespace voiceman::ops
