// Log-mel features computed on the GPU against the CPU's, on a real call and on the edge
// cases of chunk length (empty, shorter than a frame, trimmed past 30 s); the seek loop's
// whole-recording features and the windows cut from them, likewise. Each in both spectrum
// precisions: float64 (the CPU's arithmetic) and float32 (for half-precision encoders).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "support/gpu_parity.h"
#include "support/paths.h"
#include "voiceman/audio/decode.h"
#include "voiceman/features/recording_features.h"
#include "voiceman/features/window_features.h"

namespace voiceman::features {
namespace {

class GpuMel : public voiceman::testing::GpuTest {};

constexpr SpectrumPrecision kPrecisions[] = {SpectrumPrecision::float64,
                                             SpectrumPrecision::float32};

const char* name(SpectrumPrecision p) {
  return p == SpectrumPrecision::float64 ? "float64" : "float32";
}

// max |gpu - cpu| / max |cpu|, the values lying in about [-1.5, 2.5]. float64: both sides
// sum the spectrum in double, so only the last bits of log10 in float may differ. float32:
// the float DFT's error, at most 3e-5 in a CPU copy of the kernel's arithmetic on the dev
// clips; the encoder's float16 input rounds the features by up to 5e-4.
double tolerance(SpectrumPrecision p) { return p == SpectrumPrecision::float64 ? 1e-5 : 1e-4; }

TEST_F(GpuMel, MatchesTheCpuOnRealSpeechAndEdgeLengths) {
  const auto call = audio::read_wav(voiceman::testing::shared_data_dir() / "sample.wav").samples;
  ASSERT_GE(call.size(), 30u * 16000);
  const std::span<const float> all(call);
  std::vector<float> long_chunk(call.begin(), call.end());
  long_chunk.insert(long_chunk.end(), call.begin(), call.begin() + 3 * 16000 + 55);  // 33 s
  std::vector<float> damaged(call.begin(), call.begin() + 5 * 16000);
  damaged[40000] = NAN;  // its frames are the floor on both devices (mel.cc)
  const std::vector<std::span<const float>> chunks = {all.subspan(0, 30 * 16000),
                                                      all.subspan(16000, 7 * 16000 + 33),
                                                      all.subspan(5000, 100),
                                                      all.subspan(0, 0),
                                                      std::span<const float>(long_chunk),
                                                      all.subspan(123, 401),
                                                      std::span<const float>(damaged)};
  for (const int n_mels : {80, 128}) {
    const MelExtractor mel(n_mels);
    const WindowFeatures cpu = window_features(ExecContext{}, mel, chunks);
    for (const SpectrumPrecision precision : kPrecisions) {
      const WindowFeatures gpu = window_features(voiceman::testing::gpu(), mel, chunks, precision);
      EXPECT_EQ(gpu.content_frames, cpu.content_frames);
      ASSERT_FALSE(gpu.features.device().is_cpu());
      const Tensor got = gpu.features.to(Device::cpu());
      const std::string what = "log-mel " + std::to_string(n_mels) + " " + name(precision);
      voiceman::testing::expect_close(what.c_str(), tolerance(precision), "float32", got,
                                      cpu.features);
      // The padding after each chunk's frames is exactly zero.
      for (size_t i = 0; i < chunks.size(); ++i)
        for (int m = 0; m < n_mels; ++m)
          for (int t = cpu.content_frames[i]; t < 3000; ++t)
            ASSERT_EQ(got.data<float>()[(i * n_mels + m) * 3000 + t], 0.f) << what << " " << i;
    }
  }
}

TEST_F(GpuMel, WholeRecordingsAndTheirWindowsMatchTheCpu) {
  const auto call = audio::read_wav(voiceman::testing::shared_data_dir() / "sample.wav").samples;
  ASSERT_GE(call.size(), 30u * 16000);
  std::vector<float> twice(call.begin(), call.end());  // over two windows, a partial third
  twice.insert(twice.end(), call.begin(), call.end());
  const std::span<const float> all(call);
  const std::vector<std::span<const float>> recordings = {
      std::span<const float>(twice), all.subspan(16000, 7 * 16000 + 33), all.subspan(5000, 100),
      all.subspan(0, 0)};
  const ExecContext gpu = voiceman::testing::gpu();
  for (const int n_mels : {80, 128}) {
    const MelExtractor mel(n_mels);
    for (size_t r = 0; r < recordings.size() * 2; ++r) {
      const SpectrumPrecision precision = kPrecisions[r % 2];
      const std::span<const float> recording = recordings[r / 2];
      const std::string what = "recording " + std::to_string(r / 2) + ", " +
                               std::to_string(n_mels) + " " + name(precision);
      const RecordingFeatures cpu(ExecContext{}, mel, recording);
      const RecordingFeatures dev(gpu, mel, recording, precision);
      ASSERT_EQ(dev.frames(), cpu.frames()) << what;
      ASSERT_FALSE(dev.features().device().is_cpu());
      const Tensor got = dev.features().to(Device::cpu());
      ASSERT_EQ(got.shape(), cpu.features().shape()) << what;
      // One peak for the whole recording, as the CPU takes it.
      voiceman::testing::expect_close(("log-mel " + what).c_str(), tolerance(precision), "float32",
                                      got, cpu.features());
      // Windows as the seek loop cuts them: from 0, mid-way, the partial last one.
      const int frames = dev.frames();
      const int seeks[] = {0, std::min(frames, 1234), std::max(0, frames - 501)};
      Tensor batch({3, n_mels, 3000}, DType::f32, gpu.device);
      for (int i = 0; i < 3; ++i)
        dev.copy_window(gpu, seeks[i], std::min(3000, frames - seeks[i]), batch, i);
      const Tensor windows = batch.to(Device::cpu());
      for (int i = 0; i < 3; ++i) {
        const int size = std::min(3000, frames - seeks[i]);
        for (int m = 0; m < n_mels; ++m)
          for (int t = 0; t < 3000; ++t) {
            const float want =
                t < size ? got.data<float>()[static_cast<int64_t>(m) * frames + seeks[i] + t] : 0.f;
            ASSERT_EQ(windows.data<float>()[(i * n_mels + m) * 3000 + t], want)
                << what << " window " << i << " mel " << m << " frame " << t;
          }
      }
    }
  }
}

TEST_F(GpuMel, SixteenWindowsTiming) {
  const auto call = audio::read_wav(voiceman::testing::shared_data_dir() / "sample.wav").samples;
  const std::vector<std::span<const float>> chunks(
      16, std::span<const float>(call).subspan(0, 30 * 16000));
  const MelExtractor mel(128);
  const ExecContext ctx = voiceman::testing::gpu();
  double gpu_s[2] = {0, 0};
  for (int p = 0; p < 2; ++p) {
    window_features(ctx, mel, chunks, kPrecisions[p]).features.to(Device::cpu());  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor out = window_features(ctx, mel, chunks, kPrecisions[p]).features.to(Device::cpu());
    gpu_s[p] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(out.shape(), (Shape{16, 128, 3000}));
  }
  const auto t1 = std::chrono::steady_clock::now();
  window_features(ExecContext{}, mel, chunks);
  const double cpu_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  // The float64 / float32 ratio shows what the card's FP64 rate costs (GB10's is 1/64 of FP32).
  std::printf(
      "[perf] log-mel 16 x 30 s, 128 mels: gpu float64 %.2f ms, float32 %.2f ms (with upload "
      "and download), cpu %.1f ms\n",
      gpu_s[0] * 1e3, gpu_s[1] * 1e3, cpu_s * 1e3);
}

}  // namespace
}  // namespace voiceman::features
