#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void gelu(const ExecContext& ctx, Tensor& x) { VOICEMAN_DISPATCH(ctx, gelu, ctx, x); }

void add(const ExecContext& ctx, Tensor& x, const Tensor& y) {
  if (x.numel() != y.numel()) throw Error("add: shape mismatch");
  VOICEMAN_DISPATCH(ctx, add, ctx, x, y);
}

}  // namespace voiceman::ops
