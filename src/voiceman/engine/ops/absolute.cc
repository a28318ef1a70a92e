#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void absolute(const ExecContext& ctx, Tensor& x) { VOICEMAN_DISPATCH(ctx, absolute, ctx, x); }

}  // namespace voiceman::ops
