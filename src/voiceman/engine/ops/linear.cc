#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  if (x.rank() != 2 || w.weight.rank() != 2 || x.dim(1) != w.in_features())
    throw Error("linear: input " + shape_str(x.shape()) + " does not fit weight " +
                shape_str(w.weight.shape()));
  if (w.weight.dtype() == DType::i8 && w.scales.numel() != w.out_features())
    throw Error("linear: int8 weight needs one scale per output row");
  y.resize({x.dim(0), w.out_features()}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, linear, ctx, x, w, y);
}

}  // namespace voiceman::ops
