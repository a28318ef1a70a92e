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

// faster-whisper's batched language detection reads the chunks' frames end to end, then
// one frame of -1.5, in windows of 3000 frames: 20 s + 15 s of chunks and one more frame
// make two windows, the second holding 500 frames of the second chunk, the -1.5 frame and
// zeros.
TEST(LanguageWindows, ChunksEndToEndThenOneFrameOfMinusOnePointFive) {
  const MelExtractor mel(80);
  std::vector<std::vector<float>> audio = {tone(20 * 16000, 300.f), tone(15 * 16000, 500.f),
                                           tone(5 * 16000, 700.f)};
  std::vector<std::span<const float>> chunks(audio.begin(), audio.end());
  const ExecContext ctx;
  const WindowFeatures own = window_features(ctx, mel, chunks);
  ASSERT_EQ(own.content_frames, (std::vector<int>{2000, 1500, 500}));
  EXPECT_EQ(language_window_chunks({20 * 16000, 15 * 16000, 5 * 16000}, 1), 2u);
  EXPECT_EQ(language_window_chunks({20 * 16000, 15 * 16000, 5 * 16000}, 2), 3u);
  EXPECT_EQ(language_window_chunks({30 * 16000, 15 * 16000}, 1), 1u);

  const std::vector<std::span<const float>> two(chunks.begin(), chunks.begin() + 2);
  const Tensor one_window = language_windows(ctx, mel, two, 1);
  ASSERT_EQ(one_window.shape(), (Shape{1, 80, 3000}));
  const Tensor both = language_windows(ctx, mel, two, 2);
  ASSERT_EQ(both.shape(), (Shape{2, 80, 3000}));
  auto at = [](const Tensor& t, int64_t w, int64_t r, int64_t f) {
    return t.data<float>()[(w * 80 + r) * 3000 + f];
  };
  for (int64_t r : {0, 40, 79}) {
    EXPECT_EQ(at(both, 0, r, 1999), at(own.features, 0, r, 1999));
    EXPECT_EQ(at(both, 0, r, 2000), at(own.features, 1, r, 0));
    EXPECT_EQ(at(both, 0, r, 2999), at(own.features, 1, r, 999));
    EXPECT_EQ(at(both, 1, r, 499), at(own.features, 1, r, 1499));
    EXPECT_EQ(at(both, 1, r, 500), -1.5f);
    EXPECT_EQ(at(both, 1, r, 501), 0.f);
    EXPECT_EQ(at(one_window, 0, r, 2999), at(own.features, 1, r, 999));
  }
  EXPECT_THROW(language_windows(ctx, mel, {}, 1), Error);
}

}  // namespace
}  // namespace voiceman::features
