#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void conv1d(const ExecContext& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int stride,
            int padding, Tensor& y) {
  if (x.rank() != 3 || w.rank() != 3 || x.dim(1) != w.dim(1) || b.numel() != w.dim(0))
    throw Error("conv1d: input " + shape_str(x.shape()) + " does not fit weight " +
                shape_str(w.shape()));
  // The CPU gives the bias for an empty product, cuBLAS an error (ld 0): refused on both.
  if (w.dim(1) == 0 || w.dim(2) == 0)
    throw Error("conv1d: weight " + shape_str(w.shape()) + " has no input channels or taps");
  if (stride < 1 || padding < 0) throw Error("conv1d: bad stride or padding");
  if (&x == &y) throw Error("conv1d: input and output must differ");
  const int64_t t_out = (x.dim(2) + 2 * int64_t{padding} - w.dim(2)) / stride + 1;
  if (t_out < 1)
    throw Error("conv1d: input " + shape_str(x.shape()) + " too small for weight " +
                shape_str(w.shape()));
  y.resize({x.dim(0), w.dim(0), t_out}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, conv1d, ctx, x, w, b, stride, padding, y);
}

void transpose_last2(const ExecContext& ctx, const Tensor& x, Tensor& y) {
  if (x.rank() != 3) throw Error("transpose_last2: rank 3 expected");
  y.resize({x.dim(0), x.dim(2), x.dim(1)}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, transpose_last2, ctx, x, y);
}

}  // namespace voiceman::ops
