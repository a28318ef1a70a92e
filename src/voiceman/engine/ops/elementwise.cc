#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void gelu(const ExecContext& ctx, Tensor& x) { VOICEMAN_DISPATCH(ctx, gelu, ctx, x); }

void add(const ExecContext& ctx, Tensor& x, const Tensor& y) {
  if (x.numel() != y.numel()) throw Error("add: shape mismatch");
  VOICEMAN_DISPATCH(ctx, add, ctx, x, y);
}

void cast(const ExecContext& ctx, const Tensor& x, DType dtype, Tensor& y) {
  if (&x == &y) throw Error("cast: input and output must differ");
  y.resize(x.shape(), dtype, ctx.device);
  VOICEMAN_DISPATCH(ctx, cast, ctx, x, dtype, y);
}

}  // namespace voiceman::ops
