#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void instance_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   float eps, Tensor& y) {
  if (x.rank() != 3 || gamma.numel() != x.dim(1) || beta.numel() != x.dim(1))
    throw Error("instance_norm: input " + shape_str(x.shape()) + " does not fit " +
                std::to_string(gamma.numel()) + " channels");
  y.resize(x.shape(), x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, instance_norm, ctx, x, gamma, beta, eps, y);
}

}  // namespace voiceman::ops
