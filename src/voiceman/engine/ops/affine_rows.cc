#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {

void affine_rows(const ExecContext& ctx, Tensor& x, const Tensor& scale, const Tensor& shift) {
  const int64_t rows = scale.numel();
  if (scale.rank() != 1 || shift.rank() != 1 || shift.numel() != rows)
    throw Error("affine_rows: scale and shift must be vectors of one length");
  if (rows == 0 ? x.numel() != 0 : x.numel() % rows != 0)
    throw Error("affine_rows: " + shape_str(x.shape()) + " does not split into " +
                std::to_string(rows) + " rows");
  if (scale.dtype() != DType::f32 || shift.dtype() != DType::f32)
    throw Error("affine_rows: scale and shift must be float32");
  if (scale.device() != ctx.device || shift.device() != ctx.device)
    throw Error("affine_rows: scale and shift must be on the op's device");
  VOICEMAN_DISPATCH(ctx, affine_rows, ctx, x, scale, shift);
}

}  // namespace voiceman::ops
