#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void max_pool1d(const ExecContext& ctx, const Tensor& x, int kernel, int stride, Tensor& y) {
  if (x.rank() != 3 || kernel < 1 || stride < 1)
    throw Error("max_pool1d: rank 3 input and positive kernel/stride expected, got " +
                shape_str(x.shape()));
  if (&x == &y) throw Error("max_pool1d: input and output must differ");
  const int64_t t_out = x.dim(2) >= kernel ? (x.dim(2) - kernel) / stride + 1 : 0;
  y.resize({x.dim(0), x.dim(1), t_out}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, max_pool1d, ctx, x, kernel, stride, y);
}

}  // namespace voiceman::ops
