#include <string>

#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

namespace {

void check_linear(const char* op, const Tensor& x, const LinearWeight& w) {
  if (x.rank() != 2 || w.weight.rank() != 2 || x.dim(1) != w.in_features())
    throw Error(std::string(op) + ": input " + shape_str(x.shape()) + " does not fit weight " +
                shape_str(w.weight.shape()));
  // The CPU gives the bias for an empty product, cuBLAS an error (ld 0): refused on both.
  if (x.dim(1) == 0)
    throw Error(std::string(op) + ": weight " + shape_str(w.weight.shape()) +
                " has no input features");
  if (w.weight.dtype() == DType::i8 && w.scales.numel() != w.out_features())
    throw Error(std::string(op) + ": int8 weight needs one scale per output row");
}

}  // namespace

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  check_linear("linear", x, w);
  y.resize({x.dim(0), w.out_features()}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, linear, ctx, x, w, y);
}

void linear_add(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  check_linear("linear_add", x, w);
  if (y.rank() != 2 || y.dim(0) != x.dim(0) || y.dim(1) != w.out_features() ||
      y.dtype() != x.dtype() || (y.numel() && y.device() != ctx.device))
    throw Error("linear_add: output " + shape_str(y.shape()) + " " + dtype_name(y.dtype()) +
                " does not fit input " + shape_str(x.shape()) + " and weight " +
                shape_str(w.weight.shape()));
  // The GPU's GEMM reads x while it writes y: y = x + x W^T in place is not on offer.
  if (x.numel() && y.numel() && x.data<char>() < y.data<char>() + y.bytes() &&
      y.data<char>() < x.data<char>() + x.bytes())
    throw Error("linear_add: the output " + shape_str(y.shape()) + " overlaps the input " +
                shape_str(x.shape()));
#ifdef VOICEMAN_CUDA
  if (!ctx.device.is_cpu()) return cuda::linear(ctx, x, w, y, /*accumulate=*/true);
#endif
  // The CPU keeps linear()'s arithmetic and then adds, as before the fused form existed.
  Tensor product;
  linear(ctx, x, w, product);
  add(ctx, y, product);
}

}  // namespace voiceman::ops
