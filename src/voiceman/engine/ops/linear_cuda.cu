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

template <typename T>
__global__ void add_bias_kernel(T* y, const T* bias, int64_t m, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < m * n;
       i += int64_t{gridDim.x} * blockDim.x)
    y[i] = prim::from_float<T>(prim::to_float(y[i]) + prim::to_float(bias[i % n]));
}

// Per-row symmetric quantisation, the CPU scheme exactly: scale = 127 / max|row|,
// q = round-half-even(x * scale). One block per row.
template <typename T>
__global__ void quantize_rows_kernel(const T* x, int64_t k, int8_t* q, float* scales) {
  __shared__ float scratch[32];
  const T* row = x + blockIdx.x * k;
  float amax = 0.f;
  for (int64_t i = threadIdx.x; i < k; i += blockDim.x)
    amax = fmaxf(amax, fabsf(prim::to_float(row[i])));
  amax = prim::block_max(amax, scratch);
  const float scale = amax > 0.f ? 127.f / amax : 1.f;
  if (threadIdx.x == 0) scales[blockIdx.x] = scale;
  for (int64_t i = threadIdx.x; i < k; i += blockDim.x)
    q[blockIdx.x * k + i] = static_cast<int8_t>(__float2int_rn(prim::to_float(row[i]) * scale));
}

// y = acc / (x_scale[i] * w_scale[j]) (+ bias[j]), the CPU's order of operations; with
// accumulate, that is added to y's old value before rounding.
template <typename T>
__global__ void dequantize_kernel(const int32_t* acc, const float* x_scales, const float* w_scales,
                                  const T* bias, int64_t m, int64_t n, bool accumulate, T* y) {
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < m * n;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = idx / n, j = idx % n;
    float v = static_cast<float>(acc[idx]) / (x_scales[i] * w_scales[j]);
    if (bias) v += prim::to_float(bias[j]);
    if (accumulate) v = prim::to_float(y[idx]) + v;
    y[idx] = prim::from_float<T>(v);
  }
}

// int8 GEMM for shapes cuBLAS refuses (n not a multiple of 4, as a 51865-token
// vocabulary): one warp per weight row j, reading it coalesced, for every input row.
__global__ void gemm_s8_fallback_kernel(const int8_t* a, const int8_t* b, int32_t* acc, int64_t m,
                                        int64_t n, int64_t k) {
  const int64_t j = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (j >= n) return;
  const int8_t* br = b + j * k;
  for (int64_t i = 0; i < m; ++i) {
    const int8_t* ar = a + i * k;
    int32_t s = 0;
    for (int64_t p = lane; p < k; p += 32) s += static_cast<int32_t>(ar[p]) * br[p];
    for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) acc[i * n + j] = s;
  }
}

template <typename T>
void linear_int8(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y,
                 bool accumulate) {
  const int64_t m = x.dim(0), k = x.dim(1), n = w.out_features();
  Tensor xq({m, k}, DType::i8, ctx.device), xs({m}, DType::f32, ctx.device);
  Tensor acc({m, n}, DType::i32, ctx.device);
  quantize_rows_kernel<T><<<static_cast<unsigned>(m), kThreads, 0, stream_of(ctx)>>>(
      x.data<T>(), k, xq.data<int8_t>(), xs.data<float>());
  check_launch("linear int8 quantize");
  if (!prim::gemm_s8(ctx, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                     xq.data<int8_t>(), w.weight.data<int8_t>(), acc.data<int32_t>())) {
    const int64_t threads = n * 32;
    gemm_s8_fallback_kernel<<<static_cast<unsigned>((threads + kThreads - 1) / kThreads), kThreads,
                              0, stream_of(ctx)>>>(xq.data<int8_t>(), w.weight.data<int8_t>(),
                                                   acc.data<int32_t>(), m, n, k);
    check_launch("linear int8 gemm");
  }
  dequantize_kernel<T><<<prim::grid_for(m * n, kThreads), kThreads, 0, stream_of(ctx)>>>(
      acc.data<int32_t>(), xs.data<float>(), w.scales.data<float>(),
      w.bias.empty() ? nullptr : w.bias.data<T>(), m, n, accumulate, y.data<T>());
  check_launch("linear int8 dequantize");
  // xq, xs and acc go back to the pool now; later users are ordered after these kernels
  // on the same stream (see cuda::deallocate).
}

}  // namespace

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y,
            bool accumulate) {
  enter(ctx, "linear", {&x, &w.weight, &w.scales, &w.bias, &y});
  same_dtype("linear", x.dtype(), {&w.bias});
  const int64_t m = x.dim(0), k = x.dim(1), n = w.out_features();
  if (!m || !n) return;
  if (w.weight.dtype() == DType::i8) {
    same_dtype("linear", DType::f32, {&w.scales});
    prim::with_float_type(x.dtype(), "linear",
                          [&](auto tag) { linear_int8<decltype(tag)>(ctx, x, w, y, accumulate); });
    return;
  }
  same_dtype("linear", x.dtype(), {&w.weight});
  const void* bias = w.bias.empty() ? nullptr : w.bias.data<char>();
  if (prim::linear_lt(ctx, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                      x.data<char>(), w.weight.data<char>(), bias, y.data<char>(), x.dtype(),
                      accumulate))
    return;
  prim::GemmArgs g;
  g.trans_b = true;
  g.m = static_cast<int>(m);
  g.n = static_cast<int>(n);
  g.k = static_cast<int>(k);
  g.a = x.data<char>();
  g.lda = k;
  g.b = w.weight.data<char>();
  g.ldb = k;
  g.c = y.data<char>();
  g.ldc = n;
  g.beta = accumulate ? 1.f : 0.f;
  g.ab_type = g.c_type = x.dtype();
  prim::gemm(ctx, g);
  if (!bias) return;
  prim::with_float_type(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    add_bias_kernel<T><<<prim::grid_for(m * n, kThreads), kThreads, 0, stream_of(ctx)>>>(
        y.data<T>(), w.bias.data<T>(), m, n);
  });
  check_launch("linear bias");
}

}  // namespace voiceman::ops::cuda
