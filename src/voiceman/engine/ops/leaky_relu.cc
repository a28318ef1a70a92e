#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void leaky_relu(const ExecContext& ctx, Tensor& x, float slope) {
  VOICEMAN_DISPATCH(ctx, leaky_relu, ctx, x, slope);
}

}  // namespace voiceman::ops
