#pragma once
// The flash attention kernels behind ops::cuda::attention (attention_flash_cuda.cu).
#include "voiceman/core/tensor.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::ops::cuda {

// Half or bfloat16, heads 64 wide, q/k/v 16-byte aligned.
bool flash_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v, int num_heads);

// out = softmax(q k^T / 8) v per head, with the mma.sync kernel or (`wmma`) the WMMA one.
void flash_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                     int num_heads, bool causal, Tensor& out, bool wmma);

}  // namespace voiceman::ops::cuda
