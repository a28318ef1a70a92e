// CUDA-versus-CPU parity of lstm, relu, sigmoid and complex_magnitude, and of the whole
// Silero VAD model. Each test skips when no CUDA device is present (label "gpu").
// Tolerances as in ops_gpu_test.cc: float32 1e-4 relative to the largest value; float16
// 4e-3 and bfloat16 3e-2 (the recurrence carries the rounding from step to step, so the
// low-precision checks use short sequences).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "support/gpu_parity.h"
#include "support/paths.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/models/silero_vad.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::ops {
namespace {

using voiceman::testing::download;
using voiceman::testing::expect_close;
using voiceman::testing::gpu;
using voiceman::testing::kPrecisions;
using voiceman::testing::Precision;
using voiceman::testing::rounded;
using voiceman::testing::upload;

ExecContext cpu() { return {}; }
Tensor random_tensor(Shape shape, uint32_t seed, float scale = 0.5f) {
  return voiceman::testing::normal_tensor(std::move(shape), seed, 0.f, scale);
}

class GpuLstm : public voiceman::testing::GpuTest {};

TEST_F(GpuLstm, LstmForwardReverseWithState) {
  for (const auto& p : kPrecisions) {
    const int64_t steps = p.dtype == DType::f32 ? 40 : 6;
    const Tensor x = rounded(random_tensor({3, steps, 24}, 1, 1.f), p.dtype);
    const LstmWeights w{rounded(random_tensor({128, 24}, 2, 0.2f), p.dtype),
                        rounded(random_tensor({128, 32}, 3, 0.2f), p.dtype),
                        rounded(random_tensor({128}, 4, 0.2f), p.dtype)};
    const LstmWeights wd{upload(w.w_ih, p.dtype), upload(w.w_hh, p.dtype), upload(w.bias, p.dtype)};
    const Tensor h0 = rounded(random_tensor({3, 32}, 5), p.dtype);
    const Tensor c0 = rounded(random_tensor({3, 32}, 6), p.dtype);
    for (bool reverse : {false, true}) {
      Tensor h = h0.clone(), c = c0.clone(), want;
      lstm(cpu(), x, w, reverse, want, &h, &c);
      Tensor hd = upload(h0, p.dtype), cd = upload(c0, p.dtype), got;
      lstm(gpu(), upload(x, p.dtype), wd, reverse, got, &hd, &cd);
      expect_close(reverse ? "lstm reverse" : "lstm", p, got, want);
      expect_close("lstm final h", p, hd, h);
      expect_close("lstm final c", p, cd, c);
    }
    Tensor want, got;  // no state given: zeros
    lstm(cpu(), x, w, false, want);
    lstm(gpu(), upload(x, p.dtype), wd, false, got);
    expect_close("lstm zero state", p, got, want);
  }
}

TEST_F(GpuLstm, Activations) {
  for (const auto& p : kPrecisions) {
    const Tensor x = rounded(random_tensor({37, 258}, 7, 2.f), p.dtype);
    for (int op = 0; op < 2; ++op) {
      Tensor want = x.clone(), got = upload(x, p.dtype);
      if (op == 0) {
        relu(cpu(), want);
        relu(gpu(), got);
      } else {
        sigmoid(cpu(), want);
        sigmoid(gpu(), got);
      }
      expect_close(op == 0 ? "relu" : "sigmoid", p, got, want);
    }
    Tensor want, got;
    complex_magnitude(cpu(), x, want);
    complex_magnitude(gpu(), upload(x, p.dtype), got);
    expect_close("complex_magnitude", p, got, want);
  }
}

TEST_F(GpuLstm, SileroVadModel) {
  const auto path = voiceman::testing::model_dir("silero_vad_v6.onnx");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
  std::vector<float> audio(512 * 2100);
  for (size_t i = 0; i < audio.size(); ++i)
    audio[i] = 0.3f * std::sin(0.05f * i) * std::sin(0.0007f * i);
  const auto on_cpu = models::SileroVad::load(path).probabilities(cpu(), audio);
  const auto on_gpu = models::SileroVad::load(path, Device::cuda(0)).probabilities(gpu(), audio);
  ASSERT_EQ(on_cpu.size(), on_gpu.size());
  const double diff =
      voiceman::testing::max_abs_difference(on_gpu.data(), on_cpu.data(), on_cpu.size());
  std::printf("[parity] %-28s %-9s max_abs %.2e (tolerance 1e-4)\n", "silero vad", "float32", diff);
  EXPECT_LE(diff, 1e-4);
}

}  // namespace
}  // namespace voiceman::ops
