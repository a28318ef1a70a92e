#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

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

void lstm(const ExecContext& ctx, const Tensor& x, const LstmWeights& w, bool reverse, Tensor& y,
          Tensor* h, Tensor* c) {
  if (w.w_hh.rank() != 2 || w.w_ih.rank() != 2 || w.bias.rank() != 1)
    throw Error("lstm: weights must be w_ih [4H, I], w_hh [4H, H], bias [4H]");
  const int64_t hidden = w.hidden();
  if (x.rank() != 3 || w.w_hh.dim(0) != 4 * hidden || w.w_ih.dim(0) != 4 * hidden ||
      w.w_ih.dim(1) != x.dim(2) || w.bias.dim(0) != 4 * hidden)
    throw Error("lstm: input " + shape_str(x.shape()) + " does not fit weights w_ih " +
                shape_str(w.w_ih.shape()) + ", w_hh " + shape_str(w.w_hh.shape()) + ", bias " +
                shape_str(w.bias.shape()));
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
