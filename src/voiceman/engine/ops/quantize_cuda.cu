// ops::quantize_heads and dequantize_heads on CUDA: the launches of quantize_heads.cuh.
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/ops/quantize_heads.cuh"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;
using quantize::kThreads;
using quantize::kWarps;

void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y) {
  enter(ctx, "dequantize_heads", {&q.data, &q.scales, &y});
  const int64_t n = q.data.numel(), dh = q.data.dim(1) / q.scales.dim(1);
  if (!n) return;
  prim::with_float_type(dtype, "dequantize_heads", [&](auto tag) {
    using T = decltype(tag);
    quantize::dequantize_heads_kernel<T>
        <<<prim::grid_for(n, 256), 256, 0, voiceman::cuda::stream_of(ctx)>>>(
            q.data.data<int8_t>(), q.scales.data<float>(), n, dh, y.data<T>());
  });
  voiceman::cuda::check_launch("dequantize_heads");
}

void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out) {
  enter(ctx, "quantize_heads", {&x, &out.data, &out.scales});
  same_dtype("quantize_heads", DType::i8, {&out.data});
  same_dtype("quantize_heads", DType::f32, {&out.scales});
  const int64_t pairs = x.dim(0) * num_heads, dh = x.dim(1) / num_heads;
  if (!pairs || !dh) return;
  prim::with_float_type(x.dtype(), "quantize_heads", [&](auto tag) {
    using T = decltype(tag);
    quantize::quantize_heads_kernel<T>
        <<<prim::grid_for(pairs, kWarps), kThreads, 0, voiceman::cuda::stream_of(ctx)>>>(
            x.data<T>(), out.data.data<int8_t>(), out.scales.data<float>(), pairs, dh);
  });
  voiceman::cuda::check_launch("quantize_heads");
}

}  // namespace voiceman::ops::cuda
