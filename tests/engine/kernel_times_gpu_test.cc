// Not parity checks: where the time of a large-v3 encoder layer and decoder step goes,
// kernel by kernel, printed as [perf] lines for bench/GPU.md. Each test skips when no
// CUDA device is present (label "gpu"; run by scripts/gpu-check.sh).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "support/gpu_parity.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cuda.h"

namespace voiceman::ops {
namespace {

using voiceman::testing::device_table;
using voiceman::testing::gpu;
using voiceman::testing::upload;

Tensor random_tensor(Shape shape, uint32_t seed, float scale = 1.f) {
  return voiceman::testing::normal_tensor(std::move(shape), seed, 0.f, scale);
}

class GpuKernelTimes : public voiceman::testing::GpuTest {};

// Mean milliseconds of `runs` calls of f on ctx's stream, after one warm-up call.
template <typename F>
double mean_ms(const ExecContext& ctx, int runs, F&& f) {
  f();
  voiceman::cuda::synchronize(ctx);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) f();
  voiceman::cuda::synchronize(ctx);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
             .count() /
         runs;
}

LinearWeight random_linear(int64_t in, int64_t out, uint32_t seed) {
  return {upload(random_tensor({out, in}, seed, 0.02f), DType::f16),
          {},
          upload(random_tensor({out}, seed + 1), DType::f16)};
}

// One large-v3 encoder layer (layers/transformer.cc) over 4 windows of 1,500 frames in
// float16, op by op, as the models run it; then, aside, the attention's other forms.
TEST_F(GpuKernelTimes, EncoderLayer) {
  const ExecContext ctx = gpu();
  const int64_t windows = 4, t = 1500, rows = windows * t, d = 1280, heads = 20;
  auto time_ms = [&](auto&& f) { return mean_ms(ctx, 5, f); };
  Tensor x = upload(random_tensor({rows, d}, 28, 0.5f), DType::f16);
  const Tensor gamma = upload(random_tensor({d}, 29), DType::f16);
  const Tensor beta = upload(random_tensor({d}, 30), DType::f16);
  const LinearWeight qkv = random_linear(d, 3 * d, 31), proj = random_linear(d, d, 33),
                     fc1 = random_linear(d, 4 * d, 35), fc2 = random_linear(4 * d, d, 37);
  Tensor normed, fused, q, k, v, context, projected, hidden;
  double layer_ms = 0;
  auto report = [&](const char* what, double ms, double flop) {
    layer_ms += ms;
    if (flop > 0) {
      std::printf("[perf] encoder %s: %.3f ms, %.1f TFLOP/s\n", what, ms, flop / (ms * 1e9));
    } else {
      std::printf("[perf] encoder %s: %.3f ms\n", what, ms);
    }
  };
  auto linear_flop = [&](int64_t in, int64_t out) {
    return 2.0 * static_cast<double>(rows * in * out);
  };
  report("layer_norm", time_ms([&] { layer_norm(ctx, x, gamma, beta, 1e-5f, normed); }), 0);
  report("linear qkv", time_ms([&] { linear(ctx, normed, qkv, fused); }), linear_flop(d, 3 * d));
  const double attention_flop = 4.0 * static_cast<double>(windows * t * t * d);
  context = Tensor({windows, t, d}, DType::f16, ctx.device);
  report("flash attention on the packed projection (mma.sync)", time_ms([&] {
           attention_packed(ctx, fused.reshape({windows, t, 3 * d}), static_cast<int>(heads), false,
                            context);
         }),
         attention_flop);
  // Not in the sum: the separate-tensor form, its copies and each of its kernels.
  auto aside = [](const char* what, double ms, double flop) {
    std::printf("[perf] encoder %s: %.3f ms, %.1f TFLOP/s (not in the sum)\n", what, ms,
                flop > 0 ? flop / (ms * 1e9) : 0.0);
  };
  for (Tensor* part : {&q, &k, &v}) *part = Tensor({rows, d}, DType::f16, ctx.device);
  aside("q/k/v column copies", time_ms([&] {
          int64_t column = 0;
          for (Tensor* part : {&q, &k, &v}) {
            copy_rows(ctx, fused, column, 3 * d, *part, 0, d, rows, d);
            column += d;
          }
        }),
        0);
  const Tensor q3 = q.reshape({windows, t, d}), k3 = k.reshape({windows, t, d}),
               v3 = v.reshape({windows, t, d});
  const std::pair<const char*, cuda::AttentionKernel> kernels[] = {
      {"flash attention on q/k/v (mma.sync)", cuda::AttentionKernel::automatic},
      {"flash attention on q/k/v (mma.sync, one block per SM, no spills)",
       cuda::AttentionKernel::mma_one_block},
      {"flash attention on q/k/v (wmma)", cuda::AttentionKernel::wmma},
      {"attention on q/k/v (materialized, cuBLAS)", cuda::AttentionKernel::materialized}};
  Tensor separate({windows, t, d}, DType::f16, ctx.device);
  for (const auto& [name, choice] : kernels) {
    const cuda::AttentionKernel kernel = choice;  // a lambda may not capture a binding
    aside(name, time_ms([&] {
            cuda::attention(ctx, q3, k3, v3, static_cast<int>(heads), false, separate, nullptr,
                            kernel);
          }),
          attention_flop);
  }
  context = context.reshape({rows, d});
  report("linear out onto the residual", time_ms([&] { linear_add(ctx, context, proj, x); }),
         linear_flop(d, d));
  report("layer_norm", time_ms([&] { layer_norm(ctx, x, gamma, beta, 1e-5f, normed); }), 0);
  report("linear fc1", time_ms([&] { linear(ctx, normed, fc1, hidden); }), linear_flop(d, 4 * d));
  report("gelu", time_ms([&] { gelu(ctx, hidden); }), 0);
  report("linear fc2 onto the residual", time_ms([&] { linear_add(ctx, hidden, fc2, x); }),
         linear_flop(4 * d, d));
  // Not in the sum: the unfused form the models ran before (a linear, then an add).
  aside("linear fc2 then residual add", time_ms([&] {
          linear(ctx, hidden, fc2, projected);
          add(ctx, x, projected);
        }),
        linear_flop(4 * d, d));
  std::printf("[perf] encoder layer, %lld windows: %.3f ms; x 32 layers / window = %.2f ms\n",
              static_cast<long long>(windows), layer_ms,
              32 * layer_ms / static_cast<double>(windows));
  const auto stats = voiceman::cuda::memory_stats(ctx.device);
  std::printf("[perf] pool: peak %.0f MiB, reserved %.0f MiB, cap %.0f MiB\n",
              static_cast<double>(stats.peak) / 1048576.0,
              static_cast<double>(stats.reserved) / 1048576.0,
              static_cast<double>(stats.cap) / 1048576.0);
  EXPECT_GT(layer_ms, 0);
}

// Where a large-v3 decoder step's time goes at batch 16 (one query row per window): the
// attention over the self cache and over the 1500 encoder frames, and each linear.
TEST_F(GpuKernelTimes, DecoderStep) {
  const ExecContext ctx = gpu();
  const int64_t rows = 16, d = 1280, heads = 20, frames = 1500, self_len = 64;
  auto time_ms = [&](auto&& f) { return mean_ms(ctx, 20, f); };
  const Tensor q = upload(random_tensor({rows, d}, 41), DType::f16);
  const Tensor cross_k = upload(random_tensor({rows, frames, d}, 42), DType::f16);
  const Tensor self_k = upload(random_tensor({rows, 2 * self_len, d}, 43), DType::f16);
  std::vector<int32_t> index(rows), cross_lengths(rows, frames), self_lengths(rows, self_len);
  for (int64_t r = 0; r < rows; ++r) index[r] = static_cast<int32_t>(r);
  const Tensor index_d = device_table(index), cross_d = device_table(cross_lengths),
               self_d = device_table(self_lengths);
  Tensor out;
  // One kernel's time over keys = values = kv; automatic is the kernel the models take.
  using Kernel = cuda::CachedAttentionKernel;
  // cuda::cached_attention writes into out as it finds it (the front end would size it).
  auto attention_ms = [&](const Tensor& queries, const Tensor& kv, const Tensor& slots,
                          const Tensor& visible, Kernel kernel) {
    out.resize(queries.shape(), queries.dtype(), ctx.device);
    return time_ms([&] {
      cuda::cached_attention(ctx, queries, kv, kv, slots, visible, static_cast<int>(heads), out,
                             kernel);
    });
  };
  const double cross_ms = attention_ms(q, cross_k, index_d, cross_d, Kernel::automatic);
  const double self_ms = attention_ms(q, self_k, index_d, self_d, Kernel::automatic);
  const double generic_ms = attention_ms(q, cross_k, index_d, cross_d, Kernel::generic);
  std::printf(
      "[perf] step cached_attention fp16 rows %lld: cross (%lld frames) %.3f ms, %.0f GB/s"
      " (generic kernel %.3f ms); self (%lld) %.3f ms\n",
      static_cast<long long>(rows), static_cast<long long>(frames), cross_ms,
      2.0 * rows * frames * d * 2 / (cross_ms * 1e6), generic_ms, static_cast<long long>(self_len),
      self_ms);
  // The same cross attention over int8 keys and values (QuantizedCache): half the bytes,
  // and a scale per position and head. GB/s counts the data and the scales.
  auto int8_cache = [&](int64_t slots, uint32_t seed) {
    Tensor x = upload(random_tensor({slots * frames, d}, seed), DType::f16);
    QuantizedCache c;
    quantize_heads(ctx, x, static_cast<int>(heads), c);
    return QuantizedCache{c.data.reshape({slots, frames, d}),
                          c.scales.reshape({slots, frames, heads})};
  };
  auto int8_ms = [&](const Tensor& queries, const QuantizedCache& kv, const Tensor& slots,
                     const Tensor& visible, Kernel kernel) {
    out.resize(queries.shape(), queries.dtype(), ctx.device);
    return time_ms([&] {
      cuda::cached_attention(ctx, queries, kv, kv, slots, visible, static_cast<int>(heads), out,
                             kernel);
    });
  };
  auto int8_bytes = [&](int64_t slots) {
    return 2.0 * static_cast<double>(slots * frames) * static_cast<double>(d + 4 * heads);
  };
  {
    const QuantizedCache cross_q = int8_cache(rows, 46);
    const double int8_cross_ms = int8_ms(q, cross_q, index_d, cross_d, Kernel::automatic);
    const double int8_generic_ms = int8_ms(q, cross_q, index_d, cross_d, Kernel::generic);
    std::printf(
        "[perf] step cached_attention int8 cross rows %lld (%lld frames): %.3f ms, %.0f GB/s"
        " (fp16 %.3f ms; generic kernel %.3f ms)\n",
        static_cast<long long>(rows), static_cast<long long>(frames), int8_cross_ms,
        int8_bytes(rows) / (int8_cross_ms * 1e6), cross_ms, int8_generic_ms);
  }
  // Beam search: 20 windows x 5 beams, the beams of a window next to each other. One block
  // reads a window's keys and values for its five beams, or (one_row) each beam's block
  // reads them again.
  {
    const int64_t windows = 20, beams = 5, beam_rows = windows * beams;
    const Tensor bq = upload(random_tensor({beam_rows, d}, 44), DType::f16);
    const Tensor bk = upload(random_tensor({windows, frames, d}, 45), DType::f16);
    std::vector<int32_t> bindex(beam_rows), blengths(beam_rows, frames);
    for (int64_t r = 0; r < beam_rows; ++r) bindex[r] = static_cast<int32_t>(r / beams);
    const Tensor bindex_d = device_table(bindex), blengths_d = device_table(blengths);
    const double grouped_ms = attention_ms(bq, bk, bindex_d, blengths_d, Kernel::automatic);
    const double one_row_ms = attention_ms(bq, bk, bindex_d, blengths_d, Kernel::one_row);
    std::printf(
        "[perf] step cached_attention fp16 beams: %lld windows x %lld beams, cross: %.3f ms, "
        "%.0f GB/s of keys and values read once (a block per row: %.3f ms)\n",
        static_cast<long long>(windows), static_cast<long long>(beams), grouped_ms,
        2.0 * windows * frames * d * 2 / (grouped_ms * 1e6), one_row_ms);
    const QuantizedCache bq8 = int8_cache(windows, 47);
    const double int8_grouped_ms = int8_ms(bq, bq8, bindex_d, blengths_d, Kernel::automatic);
    const double int8_one_row_ms = int8_ms(bq, bq8, bindex_d, blengths_d, Kernel::one_row);
    std::printf(
        "[perf] step cached_attention int8 cross beams: %lld windows x %lld beams: %.3f ms, "
        "%.0f GB/s of keys, values and scales read once (a block per row: %.3f ms; fp16 %.3f "
        "ms)\n",
        static_cast<long long>(windows), static_cast<long long>(beams), int8_grouped_ms,
        int8_bytes(windows) / (int8_grouped_ms * 1e6), int8_one_row_ms, grouped_ms);
  }
  double layer_ms = cross_ms + self_ms;
  const int64_t shapes[][2] = {{d, 3 * d}, {d, d}, {d, d}, {d, 4 * d}, {4 * d, d}, {d, d}};
  int seed = 50;
  for (const auto& [in, out_features] : shapes) {
    const LinearWeight w{upload(random_tensor({out_features, in}, seed++, 0.02f), DType::f16),
                         {},
                         upload(random_tensor({out_features}, seed++), DType::f16)};
    const Tensor x = upload(random_tensor({rows, in}, seed++), DType::f16);
    Tensor y;
    const double ms = time_ms([&] { linear(ctx, x, w, y); });
    layer_ms += ms;
    std::printf("[perf] step linear fp16 %lldx%lldx%lld: %.3f ms, %.0f GB/s\n",
                static_cast<long long>(rows), static_cast<long long>(out_features),
                static_cast<long long>(in), ms,
                2.0 * static_cast<double>(in * out_features) / (ms * 1e6));
  }
  const LinearWeight projection{
      upload(random_tensor({51866, d}, seed++, 0.02f), DType::f16), {}, {}};
  const Tensor x = upload(random_tensor({rows, d}, seed++), DType::f16);
  Tensor logits;
  const double projection_ms = time_ms([&] { linear(ctx, x, projection, logits); });
  std::printf("[perf] step: one layer's kernels %.3f ms (x32 = %.1f ms), projection %.3f ms\n",
              layer_ms, 32 * layer_ms, projection_ms);
  EXPECT_GT(layer_ms, 0);
}

}  // namespace
}  // namespace voiceman::ops
