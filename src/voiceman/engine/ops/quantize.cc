#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void quantize_heads(const ExecContext& ctx, Tensor& x, int num_heads, QuantizedCache& out) {
  if (x.rank() != 2 || num_heads <= 0 || x.dim(1) % num_heads)
    throw Error("quantize_heads: bad shape x" + shape_str(x.shape()) + " for " +
                std::to_string(num_heads) + " heads");
  if (x.dtype() != DType::f32 && x.dtype() != DType::f16 && x.dtype() != DType::bf16)
    throw Error("quantize_heads: x must be floating point, not " + dtype_name(x.dtype()));
  if (x.dim(0) && !x.dim(1))  // its scales would have no values to come from
    throw Error("quantize_heads: x" + shape_str(x.shape()) + " has heads of no values");
  out.data.resize(x.shape(), DType::i8, ctx.device);
  out.scales.resize({x.dim(0), num_heads}, DType::f32, ctx.device);
  if (!x.numel()) return;
  VOICEMAN_DISPATCH(ctx, quantize_heads, ctx, x, num_heads, out);
}

void dequantize_heads(const ExecContext& ctx, const QuantizedCache& q, DType dtype, Tensor& y) {
  const Tensor& data = q.data;
  const Tensor& scales = q.scales;
  if (data.dtype() != DType::i8 || scales.dtype() != DType::f32 || data.rank() != 2 ||
      scales.rank() != 2 || scales.dim(0) != data.dim(0) || scales.dim(1) <= 0 ||
      data.dim(1) % scales.dim(1))
    throw Error("dequantize_heads: needs int8 data [N, H*Dh] and float32 scales [N, H], not" +
                shape_str(data.shape()) + " and" + shape_str(scales.shape()));
  if (dtype != DType::f32 && dtype != DType::f16 && dtype != DType::bf16)
    throw Error("dequantize_heads: the output must be floating point, not " + dtype_name(dtype));
  y.resize(data.shape(), dtype, ctx.device);
  if (!data.numel()) return;
  VOICEMAN_DISPATCH(ctx, dequantize_heads, ctx, q, dtype, y);
}

}  // namespace voiceman::ops
