// CUDA-versus-CPU parity of the diarization ops (instance_norm, max_pool1d, leaky_relu,
// absolute) in float32, float16 and bfloat16, and of the diarization models in float32.
// Each test skips when no CUDA device is present (label "gpu").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>

#include "support/gpu_parity.h"
#include "support/paths.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/models/pyannote_segmentation.h"
#include "voiceman/engine/models/speaker_encoder.h"
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

ExecContext cpu() {
  ExecContext ctx;
  ctx.threads = 2;
  return ctx;
}
Tensor random_tensor(Shape shape, uint32_t seed, float mean = 0.f, float scale = 1.f) {
  return voiceman::testing::normal_tensor(std::move(shape), seed, mean, scale);
}

class GpuDiarization : public voiceman::testing::GpuTest {};

TEST_F(GpuDiarization, Ops) {
  for (const auto& p : kPrecisions) {
    const std::string dt = dtype_name(p.dtype);
    const Tensor x = rounded(random_tensor({3, 7, 301}, 1, 0.5f, 2.f), p.dtype);
    const Tensor g = rounded(random_tensor({7}, 2), p.dtype),
                 b = rounded(random_tensor({7}, 3), p.dtype);
    Tensor want, got;
    instance_norm(cpu(), x, g, b, 1e-5f, want);
    instance_norm(gpu(), upload(x, p.dtype), upload(g, p.dtype), upload(b, p.dtype), 1e-5f, got);
    expect_close("instance_norm", p.tolerance, dt.c_str(), download(got), want);
    max_pool1d(cpu(), x, 3, 3, want);
    max_pool1d(gpu(), upload(x, p.dtype), 3, 3, got);
    expect_close("max_pool1d", p.tolerance, dt.c_str(), download(got), want);
    want = x.clone();
    got = upload(x, p.dtype);
    leaky_relu(cpu(), want, 0.01f);
    leaky_relu(gpu(), got, 0.01f);
    expect_close("leaky_relu", p.tolerance, dt.c_str(), download(got), want);
    absolute(cpu(), want);
    absolute(gpu(), got);
    expect_close("absolute", p.tolerance, dt.c_str(), download(got), want);
    const Tensor scale = random_tensor({21}, 8), shift = random_tensor({21}, 9);
    affine_rows(cpu(), want, scale, shift);
    affine_rows(gpu(), got, scale.to(Device::cuda(0)), shift.to(Device::cuda(0)));
    expect_close("affine_rows", p.tolerance, dt.c_str(), download(got), want);
    const Tensor img = rounded(random_tensor({2, 5, 12, 17}, 5), p.dtype);
    const Tensor kw = rounded(random_tensor({6, 5, 3, 3}, 6, 0.f, 0.2f), p.dtype);
    const Tensor kb = rounded(random_tensor({6}, 7), p.dtype);
    for (int stride : {1, 2}) {
      conv2d(cpu(), img, kw, kb, stride, 1, want);
      conv2d(gpu(), upload(img, p.dtype), upload(kw, p.dtype), upload(kb, p.dtype), stride, 1, got);
      expect_close(stride == 1 ? "conv2d" : "conv2d (stride 2)", p.tolerance, dt.c_str(),
                   download(got), want);
    }
  }
}

// Equal input windows give equal outputs at every step, as on the CPU (ops_test.cc): the
// zero padding of a recording's last window, where pyannote's instance norms grow
// last-bit differences between steps into errors of order one.
TEST_F(GpuDiarization, Conv1dGivesEqualOutputsForEqualInputWindows) {
  struct Case {
    int cin, cout, kernel, stride, t_in;
  };
  for (const auto& p : kPrecisions) {
    for (const Case cs : {Case{1, 80, 251, 10, 80000}, Case{80, 60, 5, 1, 2658}}) {
      Tensor x({1, cs.cin, cs.t_in});  // a constant per channel, one impulse at the start
      for (int c = 0; c < cs.cin; ++c) {
        float* row = x.data<float>() + static_cast<ptrdiff_t>(c) * cs.t_in;
        std::fill_n(row, cs.t_in, -0.0035f * static_cast<float>(c + 1));
        row[0] = 28.f;
      }
      const Tensor w = random_tensor({cs.cout, cs.cin, cs.kernel}, 21, 0.f, 0.1f),
                   b = random_tensor({cs.cout}, 22);
      Tensor y;
      conv1d(gpu(), upload(x, p.dtype), upload(w, p.dtype), upload(b, p.dtype), cs.stride, 0, y);
      const Tensor got = download(y);
      const int64_t t_out = got.dim(2), last = (cs.t_in - cs.kernel) / cs.stride;
      for (int o = 0; o < cs.cout; ++o) {
        const float* row = got.data<float>() + o * t_out;
        for (int64_t t = 2; t <= last; ++t)
          ASSERT_EQ(row[t], row[2]) << dtype_name(p.dtype) << " channel " << o << " step " << t
                                    << " of " << t_out << " (kernel " << cs.kernel << ")";
      }
    }
  }
}

TEST_F(GpuDiarization, Models) {
  const auto dir = testing::model_dir("diarization");
  if (!std::filesystem::exists(dir / "segmentation-whisperx.bin") ||
      !std::filesystem::exists(dir / "resemblyzer.pt"))
    GTEST_SKIP() << "run scripts/fetch-diarization-models.sh";
  const Tensor wav = random_tensor({2, 80000}, 4, 0.f, 0.1f);
  const auto seg_cpu = models::PyannoteSegmentation::load(dir / "segmentation-whisperx.bin");
  const auto seg_gpu =
      models::PyannoteSegmentation::load(dir / "segmentation-whisperx.bin", Device::cuda(0));
  const Tensor want = seg_cpu->forward(cpu(), wav);
  const Tensor got = seg_gpu->forward(gpu(), wav.to(Device::cuda(0))).to(Device::cpu());
  expect_close("pyannote segmentation", 1e-3, "float32", got, want);
  // Sliding windows of one recording (the shared sinc front) on both devices.
  const std::vector<float> rec(wav.data<float>(), wav.data<float>() + 2 * 80000);
  const Tensor slide_cpu = seg_cpu->forward_sliding(cpu(), rec, 24000, 5);
  const Tensor slide_gpu = seg_gpu->forward_sliding(gpu(), rec, 24000, 5).to(Device::cpu());
  expect_close("pyannote segmentation (sliding)", 1e-3, "float32", slide_gpu, slide_cpu);

  const auto enc_cpu = models::SpeakerEncoder::load(dir / "resemblyzer.pt");
  const auto enc_gpu = models::SpeakerEncoder::load(dir / "resemblyzer.pt", Device::cuda(0));
  const std::vector<float> clip(wav.data<float>(), wav.data<float>() + 48000);
  const auto e_cpu = enc_cpu->embed(cpu(), clip);
  const auto e_gpu = enc_gpu->embed(gpu(), clip);
  expect_close("resemblyzer embedding", 1e-3, "float32", Tensor::from_vector(e_gpu, {256}),
               Tensor::from_vector(e_cpu, {256}));
}

}  // namespace
}  // namespace voiceman::ops
