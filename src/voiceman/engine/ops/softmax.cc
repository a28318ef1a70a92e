#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void softmax(const ExecContext& ctx, Tensor& x, bool log) {
  if (x.rank() < 1) throw Error("softmax: scalar input");
  VOICEMAN_DISPATCH(ctx, softmax, ctx, x, log);
}

}  // namespace voiceman::ops
