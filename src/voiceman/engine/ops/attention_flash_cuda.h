#pragma once
// The flash attention kernels behind ops::cuda::attention (attention_flash_cuda.cu).
#include "voiceman/core/tensor.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cuda.h"

namespace voiceman::ops::cuda {

// Half or bfloat16, heads 64 wide, q/k/v and out 16-byte aligned.
bool flash_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                             int num_heads);

// out = softmax(q k^T / 8) v per head, with the flash kernel `kernel` names (automatic:
// the mma.sync one; not materialized).
void flash_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                     int num_heads, bool causal, Tensor& out, AttentionKernel kernel);

// Self-attention read in place from a fused projection qkv [batch, t, 3 * model] with the
// mma.sync kernel. Returns false, having done nothing, when the kernel does not apply
// (float32, heads not 64 wide, misaligned operands).
bool flash_attention_packed(const ExecContext& ctx, const Tensor& qkv, int num_heads, bool causal,
                            Tensor& out);

}  // namespace voiceman::ops::cuda
