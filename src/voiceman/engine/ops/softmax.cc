#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void softmax(const ExecContext& ctx, Tensor& x, bool log) {
  if (x.rank() < 1) throw Error("softmax: scalar input");
  if (!x.numel()) return;  // rows of no values: the CPU kernel would divide by zero
  VOICEMAN_DISPATCH(ctx, softmax, ctx, x, log);
}

}  // namespace voiceman::ops
