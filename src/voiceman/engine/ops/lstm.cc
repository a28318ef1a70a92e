#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_bf16.h"

namespace voiceman::ops {

namespace {

// A state tensor must be [B, H] on the op's device (or empty: start from zeros).
void check_state(const ExecContext& ctx, const Tensor* s, int64_t batch, int64_t hidden,
                 const char* name) {
  if (!s || s->empty()) return;
  if (s->rank() != 2 || s->dim(0) != batch || s->dim(1) != hidden)
    throw Error(std::string("lstm: state ") + name + " " + shape_str(s->shape()) +
                " does not fit [" + std::to_string(batch) + ", " + std::to_string(hidden) + "]");
  if (s->device() != ctx.device)
    throw Error(std::string("lstm: state ") + name + " on another device");
}

}  // namespace

bool bf16_supported() { return primitives::cpu::bf16_gemm_supported(); }

LstmWeights LstmWeights::to_bf16(const ExecContext& ctx, bool recurrent) const {
  LstmWeights out = *this;
  cast(ctx, w_ih, DType::bf16, out.w_ih);
  if (recurrent) cast(ctx, w_hh, DType::bf16, out.w_hh);
  return out;
}

void lstm_weights_to_bf16(std::span<LstmWeights> layers, Device device, const std::string& model,
                          bool recurrent) {
  if (!device.is_cpu() || !bf16_supported())
    throw ConfigError(model + ": bfloat16 LSTM products need a CPU that multiplies bf16 natively");
  const ExecContext ctx;
  for (LstmWeights& w : layers) w = w.to_bf16(ctx, recurrent);
}

void lstm(const ExecContext& ctx, const Tensor& x, const LstmWeights& w, bool reverse, Tensor& y,
          Tensor* h, Tensor* c) {
  if (w.w_hh.rank() != 2 || w.w_ih.rank() != 2 || w.bias.rank() != 1)
    throw Error("lstm: weights must be w_ih [4H, I], w_hh [4H, H], bias [4H]");
  // The CPU's rule; on a GPU every operand has x's dtype (float32, float16 or bfloat16),
  // which the CUDA op checks.
  if (ctx.device.is_cpu()) {
    for (const Tensor* m : {&w.w_ih, &w.w_hh})
      if (m->dtype() != DType::f32 && (m->dtype() != DType::bf16 || !bf16_supported()))
        throw Error("lstm: weight matrices must be float32, or bfloat16 on a CPU with native bf16");
    if (w.bias.dtype() != DType::f32) throw Error("lstm: the bias must be float32");
  }
  const int64_t hidden = w.hidden();
  if (x.rank() != 3 || w.w_hh.dim(0) != 4 * hidden || w.w_ih.dim(0) != 4 * hidden ||
      w.w_ih.dim(1) != x.dim(2) || w.bias.dim(0) != 4 * hidden)
    throw Error("lstm: input " + shape_str(x.shape()) + " does not fit weights w_ih " +
                shape_str(w.w_ih.shape()) + ", w_hh " + shape_str(w.w_hh.shape()) + ", bias " +
                shape_str(w.bias.shape()));
  if (x.dim(2) == 0 || hidden == 0)
    throw Error("lstm: weights w_ih " + shape_str(w.w_ih.shape()) +
                " have no input features or units");
  if (&x == &y) throw Error("lstm: input and output must differ");
  const int64_t batch = x.dim(0);
  check_state(ctx, h, batch, hidden, "h");
  check_state(ctx, c, batch, hidden, "c");
  y.resize({batch, x.dim(1), hidden}, x.dtype(), ctx.device);
  // Missing or empty states become zeros, and then hold the final state.
  for (Tensor* s : {h, c})
    if (s && s->empty()) *s = Tensor::zeros({batch, hidden}, x.dtype(), ctx.device);
  VOICEMAN_DISPATCH(ctx, lstm, ctx, x, w, reverse, y, h, c);
}

}  // namespace voiceman::ops
