#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_bf16.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/engine/primitives/fast_math.h"
#include "voiceman/engine/primitives/simd.h"

namespace voiceman::ops::cpu {

namespace {

// Branch-free forms that vectorise (libm's expf/tanhf calls dominated the recurrence);
// inlined into each ISA clone of cell_update. tanh through the logistic: abs. error ~1e-7.
[[gnu::always_inline]] inline float sigmoid_of(float v) {
  return 1.f / (1.f + primitives::fast_exp(-v));
}
[[gnu::always_inline]] inline float tanh_of(float v) {
  return 2.f / (1.f + primitives::fast_exp(-2.f * v)) - 1.f;
}

// One step of one batch row: gates = gx + gh + bias in (i, f, g, o) blocks of `hidden`.
VOICEMAN_MULTIVERSION void cell_update(const float* __restrict gx, const float* __restrict gh,
                                       const float* __restrict bias, float* __restrict h,
                                       float* __restrict c, float* __restrict y, int64_t hidden) {
#pragma omp simd
  for (int64_t j = 0; j < hidden; ++j) {
    const float ig = sigmoid_of(gx[j] + gh[j] + bias[j]);
    const float fg = sigmoid_of(gx[hidden + j] + gh[hidden + j] + bias[hidden + j]);
    const float gg = tanh_of(gx[2 * hidden + j] + gh[2 * hidden + j] + bias[2 * hidden + j]);
    const float og = sigmoid_of(gx[3 * hidden + j] + gh[3 * hidden + j] + bias[3 * hidden + j]);
    const float cj = fg * c[j] + ig * gg;
    c[j] = cj;
    h[j] = og * tanh_of(cj);
    y[j] = h[j];
  }
}

}  // namespace

// The input projection of every timestep is one GEMM; only h * W_hh^T stays inside the
// sequential loop (a [B, H] x [H, 4H] GEMM per step).
void lstm(const ExecContext& ctx, const Tensor& x, const LstmWeights& w, bool reverse, Tensor& y,
          Tensor* h, Tensor* c) {
  namespace prim = primitives::cpu;
  const int64_t batch = x.dim(0), steps = x.dim(1), in = x.dim(2), hidden = w.hidden();
  const int64_t g4 = 4 * hidden;
  if (!batch) return;
  const bool bf16_in = w.w_ih.dtype() == DType::bf16, bf16 = w.w_hh.dtype() == DType::bf16;
  // The recurrent GEMM is small (4H x H per row): more threads only add overhead.
  const int step_threads = batch * g4 * hidden >= (1 << 20) ? ctx.threads : 1;
  std::vector<float> gx(static_cast<size_t>(batch * steps * g4));
  std::vector<uint16_t> hb(bf16 ? static_cast<size_t>(batch * hidden) : 0);
  std::optional<prim::Bf16GemmNT> recurrent;
  if (bf16) recurrent.emplace(batch, g4, hidden, w.w_hh.data<uint16_t>(), step_threads);
  if (steps && bf16_in) {
    std::vector<uint16_t> xb(static_cast<size_t>(x.numel()));
    prim::float_to_bf16(x.data<float>(), xb.data(), xb.size());
    prim::Bf16GemmNT(batch * steps, g4, in, w.w_ih.data<uint16_t>(), ctx.threads)
        .run(xb.data(), gx.data());
  } else if (steps) {
    prim::sgemm(false, true, static_cast<int>(batch * steps), static_cast<int>(g4),
                static_cast<int>(in), 1.f, x.data<float>(), static_cast<int>(in),
                w.w_ih.data<float>(), static_cast<int>(in), 0.f, gx.data(), static_cast<int>(g4),
                ctx.threads);
  }
  std::vector<float> hs(static_cast<size_t>(batch * hidden), 0.f), cs(hs.size(), 0.f);
  if (h) std::memcpy(hs.data(), h->data<float>(), hs.size() * sizeof(float));
  if (c) std::memcpy(cs.data(), c->data<float>(), cs.size() * sizeof(float));
  std::vector<float> gh(static_cast<size_t>(batch * g4));
  const float* bias = w.bias.data<float>();
  float* out = y.data<float>();
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = reverse ? steps - 1 - s : s;
    if (bf16) {
      prim::float_to_bf16(hs.data(), hb.data(), hb.size());
      recurrent->run(hb.data(), gh.data());
    } else {
      prim::sgemm(false, true, static_cast<int>(batch), static_cast<int>(g4),
                  static_cast<int>(hidden), 1.f, hs.data(), static_cast<int>(hidden),
                  w.w_hh.data<float>(), static_cast<int>(hidden), 0.f, gh.data(),
                  static_cast<int>(g4), step_threads);
    }
    for (int64_t b = 0; b < batch; ++b)
      cell_update(gx.data() + (b * steps + t) * g4, gh.data() + b * g4, bias,
                  hs.data() + b * hidden, cs.data() + b * hidden, out + (b * steps + t) * hidden,
                  hidden);
  }
  if (h) std::memcpy(h->data<float>(), hs.data(), hs.size() * sizeof(float));
  if (c) std::memcpy(c->data<float>(), cs.data(), cs.size() * sizeof(float));
}

}  // namespace voiceman::ops::cpu
