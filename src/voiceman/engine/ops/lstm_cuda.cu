#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_gemm.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;
using voiceman::cuda::check_launch;
using voiceman::cuda::stream_of;

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float sigmoid_of(float v) { return 1.f / (1.f + expf(-v)); }

// The whole recurrence of one batch row in one block: h and c stay in shared memory, the
// 4H gate pre-activations of a step are computed by all threads, then H threads update
// the cell. gx [B, T, 4H] (float32) holds x * W_ih^T for every step.
template <typename T>
__global__ void lstm_recurrence_kernel(const float* gx, const T* w_hh, const T* bias, int64_t steps,
                                       int64_t hidden, bool reverse, T* y, T* h, T* c) {
  extern __shared__ float shared[];
  float* hs = shared;          // [H]
  float* cs = hs + hidden;     // [H]
  float* gates = cs + hidden;  // [4H]
  const int64_t b = blockIdx.x, g4 = 4 * hidden;
  for (int64_t j = threadIdx.x; j < hidden; j += blockDim.x) {
    hs[j] = h ? prim::to_float(h[b * hidden + j]) : 0.f;
    cs[j] = c ? prim::to_float(c[b * hidden + j]) : 0.f;
  }
  __syncthreads();
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = reverse ? steps - 1 - s : s;
    const float* gxr = gx + (b * steps + t) * g4;
    for (int64_t r = threadIdx.x; r < g4; r += blockDim.x) {
      const T* wr = w_hh + r * hidden;
      float acc = gxr[r] + prim::to_float(bias[r]);
      for (int64_t k = 0; k < hidden; ++k) acc += prim::to_float(wr[k]) * hs[k];
      gates[r] = acc;
    }
    __syncthreads();
    for (int64_t j = threadIdx.x; j < hidden; j += blockDim.x) {
      const float ig = sigmoid_of(gates[j]);
      const float fg = sigmoid_of(gates[hidden + j]);
      const float gg = tanhf(gates[2 * hidden + j]);
      const float og = sigmoid_of(gates[3 * hidden + j]);
      cs[j] = fg * cs[j] + ig * gg;
      hs[j] = og * tanhf(cs[j]);
      y[(b * steps + t) * hidden + j] = prim::from_float<T>(hs[j]);
    }
    __syncthreads();
  }
  for (int64_t j = threadIdx.x; j < hidden; j += blockDim.x) {
    if (h) h[b * hidden + j] = prim::from_float<T>(hs[j]);
    if (c) c[b * hidden + j] = prim::from_float<T>(cs[j]);
  }
}

}  // namespace

void lstm(const ExecContext& ctx, const Tensor& x, const LstmWeights& w, bool reverse, Tensor& y,
          Tensor* h, Tensor* c) {
  enter(ctx, "lstm", {&x, &w.w_ih, &w.w_hh, &w.bias, &y, h, c});
  same_dtype("lstm", x.dtype(), {&w.w_ih, &w.w_hh, &w.bias, h, c});
  const int64_t batch = x.dim(0), steps = x.dim(1), in = x.dim(2), hidden = w.hidden();
  if (!batch || !steps) return;
  const size_t shared_bytes = static_cast<size_t>(6 * hidden) * sizeof(float);
  if (shared_bytes > 48 * 1024) throw Error("lstm: hidden size too large for the CUDA kernel");
  // Input projection of all steps at once (cuBLAS), kept in float32 for the recurrence.
  Tensor gx({batch * steps, 4 * hidden}, DType::f32, ctx.device);
  prim::GemmArgs g;
  g.trans_b = true;
  g.m = static_cast<int>(batch * steps);
  g.n = static_cast<int>(4 * hidden);
  g.k = static_cast<int>(in);
  g.a = x.data<char>();
  g.lda = in;
  g.b = w.w_ih.data<char>();
  g.ldb = in;
  g.c = gx.data<char>();
  g.ldc = 4 * hidden;
  g.ab_type = x.dtype();
  g.c_type = DType::f32;
  prim::gemm(ctx, g);
  prim::with_float_type(x.dtype(), "lstm", [&](auto tag) {
    using T = decltype(tag);
    lstm_recurrence_kernel<T>
        <<<static_cast<unsigned>(batch), kThreads, shared_bytes, stream_of(ctx)>>>(
            gx.data<float>(), w.w_hh.data<T>(), w.bias.data<T>(), steps, hidden, reverse,
            y.data<T>(), h ? h->data<T>() : nullptr, c ? c->data<T>() : nullptr);
  });
  check_launch("lstm");
}

}  // namespace voiceman::ops::cuda
