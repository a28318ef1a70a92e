// The encoder's batch input on the CPU: each chunk's own log-mel frames (its last frame
// dropped), zeros after them, whatever the other chunks in the batch.
#include "voiceman/features/window_features.h"

#include <gtest/gtest.h>

#include <cmath>

#include "voiceman/core/errors.h"

namespace voiceman::features {
namespace {

std::vector<float> tone(size_t samples, float hz) {
  std::vector<float> x(samples);
  for (size_t i = 0; i < samples; ++i)
    x[i] = 0.3f * std::sin(2.f * 3.14159265f * hz * static_cast<float>(i) / 16000.f) +
           0.01f * std::sin(static_cast<float>(i) * 0.37f);
  return x;
}

TEST(WindowFeatures, EachChunkIsItsOwnSpectrogramPaddedToThirtySeconds) {
  const MelExtractor mel(80);
  // Empty, shorter than one FFT frame, 7 s, exactly 30 s and over 30 s (trimmed).
  const std::vector<size_t> lengths = {0, 100, 7 * 16000, 30 * 16000, 31 * 16000 + 77};
  const std::vector<int> want_content = {0, 0, 700, 3000, 3000};
  std::vector<std::vector<float>> audio;
  for (size_t i = 0; i < lengths.size(); ++i)
    audio.push_back(tone(lengths[i], 300.f + 100.f * static_cast<float>(i)));
  std::vector<std::span<const float>> chunks(audio.begin(), audio.end());

  const WindowFeatures w = window_features(ExecContext{}, mel, chunks);
  ASSERT_EQ(w.features.shape(), (Shape{5, 80, 3000}));
  EXPECT_EQ(w.content_frames, want_content);
  for (size_t i = 0; i < chunks.size(); ++i) {
    int frames = 0;
    const std::vector<float> alone = mel.compute(chunks[i], 160, &frames);
    const float* got = w.features.data<float>() + i * 80 * 3000;
    for (int m = 0; m < 80; ++m)
      for (int t = 0; t < 3000; ++t) {
        const float want = t < want_content[i] ? alone[static_cast<size_t>(m) * frames + t] : 0.f;
        ASSERT_EQ(got[m * 3000 + t], want) << "chunk " << i << " mel " << m << " frame " << t;
      }
  }
}

TEST(WindowFeatures, HalfPrecisionEncodersTakeAFloatSpectrum) {
  EXPECT_EQ(spectrum_precision_for(DType::f16), SpectrumPrecision::float32);
  EXPECT_EQ(spectrum_precision_for(DType::bf16), SpectrumPrecision::float32);
  // float32 activations (float32 models; int8 on the CPU) keep the CPU's arithmetic,
  // which parity runs compare.
  EXPECT_EQ(spectrum_precision_for(DType::f32), SpectrumPrecision::float64);
}

TEST(WindowFeatures, TheCpuComputesInDoubleAtEitherPrecision) {
  const std::vector<float> x = tone(5 * 16000 + 33, 440.f);
  const std::vector<std::span<const float>> chunks = {std::span<const float>(x)};
  const MelExtractor mel(80);
  const Tensor a = window_features(ExecContext{}, mel, chunks, SpectrumPrecision::float64).features;
  const Tensor b = window_features(ExecContext{}, mel, chunks, SpectrumPrecision::float32).features;
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
}

TEST(WindowFeatures, AnEmptyBatchIsEmpty) {
  const WindowFeatures w = window_features(ExecContext{}, MelExtractor(128), {});
  EXPECT_EQ(w.features.shape(), (Shape{0, 128, 3000}));
  EXPECT_TRUE(w.content_frames.empty());
}

#ifndef VOICEMAN_CUDA
TEST(WindowFeatures, ACudaContextWithoutTheBackendIsADeviceError) {
  ExecContext ctx;
  ctx.device = Device::cuda(0);
  const std::vector<float> x(1600);
  EXPECT_THROW(window_features(ctx, MelExtractor(80), {std::span<const float>(x)}), DeviceError);
}
#endif

}  // namespace
}  // namespace voiceman::features
