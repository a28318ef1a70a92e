#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void layer_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                float eps, Tensor& y) {
  if (x.rank() < 1 || gamma.numel() != x.dim(-1) || beta.numel() != x.dim(-1))
    throw Error("layer_norm: shape mismatch " + shape_str(x.shape()));
  y.resize(x.shape(), x.dtype(), ctx.device);
  if (!x.numel()) return;  // rows of no values: the CPU kernel would divide by zero
  VOICEMAN_DISPATCH(ctx, layer_norm, ctx, x, gamma, beta, eps, y);
}

}  // namespace voiceman::ops
