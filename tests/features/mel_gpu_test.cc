// Log-mel features computed on the GPU against the CPU's, on a real call and on the edge
// cases of chunk length (empty, shorter than a frame, trimmed past 30 s); the seek loop's
// whole-recording features and the windows cut from them, likewise.
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

TEST_F(GpuMel, MatchesTheCpuOnRealSpeechAndEdgeLengths) {
  const auto call = audio::read_wav(voiceman::testing::shared_data_dir() / "sample.wav").samples;
  ASSERT_GE(call.size(), 30u * 16000);
  const std::span<const float> all(call);
  std::vector<float> long_chunk(call.begin(), call.end());
  long_chunk.insert(long_chunk.end(), call.begin(), call.begin() + 3 * 16000 + 55);  // 33 s
  const std::vector<std::span<const float>> chunks = {
      all.subspan(0, 30 * 16000), all.subspan(16000, 7 * 16000 + 33), all.subspan(5000, 100),
      all.subspan(0, 0),          std::span<const float>(long_chunk), all.subspan(123, 401)};
  for (const int n_mels : {80, 128}) {
    const MelExtractor mel(n_mels);
    const WindowFeatures cpu = window_features(ExecContext{}, mel, chunks);
    const WindowFeatures gpu = window_features(voiceman::testing::gpu(), mel, chunks);
    EXPECT_EQ(gpu.content_frames, cpu.content_frames);
    ASSERT_FALSE(gpu.features.device().is_cpu());
    const Tensor got = gpu.features.to(Device::cpu());
    // Values lie in about [-1.5, 2.5]; both sides sum the spectrum in double, so only the
    // last bits of log10 in float may differ.
    voiceman::testing::expect_close(n_mels == 80 ? "log-mel 80" : "log-mel 128", 1e-5, "float32",
                                    got, cpu.features);
    // The padding after each chunk's frames is exactly zero.
    for (size_t i = 0; i < chunks.size(); ++i)
      for (int m = 0; m < n_mels; ++m)
        for (int t = cpu.content_frames[i]; t < 3000; ++t)
          ASSERT_EQ(got.data<float>()[(i * n_mels + m) * 3000 + t], 0.f) << i << " " << m;
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
    for (size_t r = 0; r < recordings.size(); ++r) {
      const std::string what = "recording " + std::to_string(r) + ", " + std::to_string(n_mels);
      const RecordingFeatures cpu(ExecContext{}, mel, recordings[r]);
      const RecordingFeatures dev(gpu, mel, recordings[r]);
      ASSERT_EQ(dev.frames(), cpu.frames()) << what;
      ASSERT_FALSE(dev.features().device().is_cpu());
      const Tensor got = dev.features().to(Device::cpu());
      ASSERT_EQ(got.shape(), cpu.features().shape()) << what;
      // One peak for the whole recording, as the CPU takes it.
      voiceman::testing::expect_close(("log-mel " + what).c_str(), 1e-5, "float32", got,
                                      cpu.features());
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
  window_features(ctx, mel, chunks).features.to(Device::cpu());  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor out = window_features(ctx, mel, chunks).features.to(Device::cpu());
  const double gpu_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto t1 = std::chrono::steady_clock::now();
  window_features(ExecContext{}, mel, chunks);
  const double cpu_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf(
      "[perf] log-mel 16 x 30 s, 128 mels: gpu %.2f ms (with upload and download), "
      "cpu %.1f ms\n",
      gpu_s * 1e3, cpu_s * 1e3);
  EXPECT_EQ(out.shape(), (Shape{16, 128, 3000}));
}

}  // namespace
}  // namespace voiceman::features
