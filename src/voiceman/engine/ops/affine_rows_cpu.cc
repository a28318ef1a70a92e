#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

// In place: row r of x (x viewed as [R, numel / R]) becomes x * scale[r] + shift[r].
void affine_rows(const ExecContext& ctx, Tensor& x, const Tensor& scale, const Tensor& shift) {
  const int64_t rows = scale.numel();
  if (!rows) return;
  const int64_t width = x.numel() / rows;
  float* v = x.data<float>();
  const float* a = scale.data<float>();
  const float* b = shift.data<float>();
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (x.numel() > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    float* row = v + r * width;
    for (int64_t i = 0; i < width; ++i) row[i] = row[i] * a[r] + b[r];
  }
}

}  // namespace voiceman::ops::cpu
