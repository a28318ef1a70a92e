// The seek loop's features on the CPU: a whole recording's spectrogram, floored by the
// whole recording's peak, and its 30 s windows cut into an encoder batch.
#include "voiceman/features/recording_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "voiceman/core/errors.h"

namespace voiceman::features {
namespace {

// A tone that gets louder: a window's own peak differs from the recording's.
std::vector<float> rising_tone(size_t samples) {
  std::vector<float> x(samples);
  for (size_t i = 0; i < samples; ++i) {
    const auto t = static_cast<float>(i) / 16000.f;
    x[i] = (0.01f + 0.02f * t) * std::sin(2.f * 3.14159265f * 440.f * t);
  }
  return x;
}

TEST(RecordingFeatures, AreTheWholeRecordingsSpectrogram) {
  const MelExtractor mel(80);
  for (const size_t samples :
       {size_t{0}, size_t{100}, size_t{7} * 16000 + 33, size_t{65} * 16000}) {
    const std::vector<float> audio = rising_tone(samples);
    const RecordingFeatures f(ExecContext{}, mel, audio);
    int frames = 0;
    const std::vector<float> want = mel.compute(audio, 160, &frames);
    EXPECT_EQ(f.frames(), frames);
    EXPECT_EQ(f.frames(), static_cast<int>((samples + 160) / 160));
    ASSERT_EQ(f.features().shape(), (Shape{80, frames}));
    EXPECT_EQ(f.features().to_vector(), want) << samples;
  }
}

TEST(RecordingFeatures, WindowsAreZeroPaddedSlicesOfTheRecording) {
  const MelExtractor mel(80);
  const std::vector<float> audio = rising_tone(size_t{65} * 16000 + 77);  // 6501 frames
  const RecordingFeatures f(ExecContext{}, mel, audio);
  ASSERT_EQ(f.frames(), 6501);
  const float* all = f.features().data<float>();
  struct Cut {
    int seek, size;
  };
  // A full window, one that ends at the last frame, an empty one, one from frame 0.
  const Cut cuts[] = {{1234, 3000}, {6000, 501}, {6501, 0}, {0, 17}};
  Tensor batch({5, 80, 3000});
  for (float& v : batch.span<float>()) v = std::numeric_limits<float>::quiet_NaN();
  for (int i = 0; i < 4; ++i) f.copy_window(ExecContext{}, cuts[i].seek, cuts[i].size, batch, i);
  for (int i = 0; i < 4; ++i)
    for (int m = 0; m < 80; ++m)
      for (int t = 0; t < 3000; ++t) {
        const float got = batch.data<float>()[(i * 80 + m) * 3000 + t];
        const float want = t < cuts[i].size ? all[m * 6501 + cuts[i].seek + t] : 0.f;
        ASSERT_EQ(got, want) << "cut " << i << " mel " << m << " frame " << t;
      }
  // The row not written is untouched.
  for (int k = 0; k < 80 * 3000; ++k)
    ASSERT_TRUE(std::isnan(batch.data<float>()[4 * 80 * 3000 + k]));
}

TEST(RecordingFeatures, OutOfRangeWindowsAndWrongBatchesAreRejected) {
  const MelExtractor mel(80);
  const std::vector<float> audio = rising_tone(size_t{10} * 16000);  // 1001 frames
  const RecordingFeatures f(ExecContext{}, mel, audio);
  Tensor batch({2, 80, 3000});
  const ExecContext cpu;
  EXPECT_THROW(f.copy_window(cpu, 1000, 2, batch, 0), Error);  // past the last frame
  EXPECT_THROW(f.copy_window(cpu, -1, 10, batch, 0), Error);
  EXPECT_THROW(f.copy_window(cpu, 0, 3001, batch, 0), Error);  // longer than a window
  EXPECT_THROW(f.copy_window(cpu, 0, 10, batch, 2), Error);    // no such row
  EXPECT_NO_THROW(f.copy_window(cpu, 1000, 1, batch, 1));
  Tensor wrong_mels({2, 128, 3000});
  EXPECT_THROW(f.copy_window(cpu, 0, 10, wrong_mels, 0), Error);
  Tensor wrong_frames({2, 80, 1500});
  EXPECT_THROW(f.copy_window(cpu, 0, 10, wrong_frames, 0), Error);
}

#ifndef VOICEMAN_CUDA
TEST(RecordingFeatures, ACudaContextWithoutTheBackendIsADeviceError) {
  ExecContext ctx;
  ctx.device = Device::cuda(0);
  const std::vector<float> x(1600);
  EXPECT_THROW(RecordingFeatures(ctx, MelExtractor(80), x), DeviceError);
}
#endif

}  // namespace
}  // namespace voiceman::features
