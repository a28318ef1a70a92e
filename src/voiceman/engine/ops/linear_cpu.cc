#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops::cpu {

namespace prim = primitives::cpu;

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  const int m = static_cast<int>(x.dim(0));
  const int k = static_cast<int>(x.dim(1));
  const int n = static_cast<int>(w.out_features());
  float* out = y.data<float>();
  if (w.weight.dtype() == DType::f32) {
    prim::sgemm(false, true, m, n, k, 1.f, x.data<float>(), k, w.weight.data<float>(), k, 0.f, out,
                n, ctx.threads);
  } else if (w.weight.dtype() == DType::i8) {
    // Dynamic per-row activation quantisation, as CTranslate2's int8 compute type.
    std::vector<int8_t> xq(static_cast<size_t>(m) * k);
    std::vector<float> xs(m);
    prim::quantize_rows(x.data<float>(), m, k, xq.data(), xs.data());
    prim::gemm_s8(m, n, k, xq.data(), xs.data(), w.weight.data<int8_t>(), w.scales.data<float>(),
                  out, ctx.threads);
  } else {
    throw Error("linear: unsupported weight dtype " + dtype_name(w.weight.dtype()));
  }
  if (!w.bias.empty()) {
    const float* b = w.bias.data<float>();
    for (int i = 0; i < m; ++i) {
      float* row = out + static_cast<int64_t>(i) * n;
      for (int j = 0; j < n; ++j) row[j] += b[j];
    }
  }
}

}  // namespace voiceman::ops::cpu
