#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void relu(const ExecContext& ctx, Tensor& x) { VOICEMAN_DISPATCH(ctx, relu, ctx, x); }

void sigmoid(const ExecContext& ctx, Tensor& x) { VOICEMAN_DISPATCH(ctx, sigmoid, ctx, x); }

void complex_magnitude(const ExecContext& ctx, const Tensor& x, Tensor& y) {
  if (x.rank() < 1 || x.dim(-1) % 2) throw Error("complex_magnitude: last dimension must be even");
  if (&x == &y) throw Error("complex_magnitude: input and output must differ");
  Shape shape = x.shape();
  shape.back() /= 2;
  y.resize(shape, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, complex_magnitude, ctx, x, y);
}

}  // namespace voiceman::ops
