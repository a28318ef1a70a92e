#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void conv2d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y) {
  if (x.rank() != 4 || w.rank() != 4 || x.dim(1) != w.dim(1) ||
      (!b.empty() && b.numel() != w.dim(0)))
    throw Error("conv2d: input " + shape_str(x.shape()) + " does not fit weight " +
                shape_str(w.shape()));
  if (w.dim(1) == 0 || w.dim(2) == 0 || w.dim(3) == 0)
    throw Error("conv2d: weight " + shape_str(w.shape()) + " has no input channels or taps");
  if (stride < 1 || padding < 0) throw Error("conv2d: bad stride or padding");
  if (&x == &y) throw Error("conv2d: input and output must differ");
  const int64_t h_out = (x.dim(2) + 2 * int64_t{padding} - w.dim(2)) / stride + 1;
  const int64_t w_out = (x.dim(3) + 2 * int64_t{padding} - w.dim(3)) / stride + 1;
  if (h_out < 1 || w_out < 1) throw Error("conv2d: input " + shape_str(x.shape()) + " too small");
  y.resize({x.dim(0), w.dim(0), h_out, w_out}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, conv2d, ctx, x, w, b, stride, padding, y);
}

}  // namespace voiceman::ops
