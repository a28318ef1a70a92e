// resemblyzer's mel front-end: frame count, a tone lands in the mel band of its frequency,
// power scales with the square of the amplitude.
#include "voiceman/features/speaker_mel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "features/tone.h"

namespace voiceman::features {
namespace {

using testing::tone;

int peak_band(const std::vector<float>& mel, int frame) {
  const float* row = mel.data() + frame * SpeakerMel::kMels;
  return static_cast<int>(std::max_element(row, row + SpeakerMel::kMels) - row);
}

TEST(SpeakerMel, FramesAndTonePlacement) {
  const SpeakerMel mel;
  EXPECT_EQ(SpeakerMel::num_frames(16000), 101);  // centred frames: 1 + n / 160
  EXPECT_EQ(SpeakerMel::num_frames(159), 1);
  const auto low = mel.compute(tone(300, 0.5f, 16000));
  const auto high = mel.compute(tone(3000, 0.5f, 16000));
  ASSERT_EQ(low.size(), 101u * SpeakerMel::kMels);
  EXPECT_LT(peak_band(low, 50), peak_band(high, 50));
  // Slaney mel scale, 40 bands to 8 kHz: 300 Hz is in the lowest fifth, 3 kHz mid-range.
  EXPECT_LT(peak_band(low, 50), 8);
  EXPECT_GT(peak_band(high, 50), 15);
  EXPECT_LT(peak_band(high, 50), 30);
  // Power spectrum: doubling the amplitude multiplies every value by 4.
  const auto louder = mel.compute(tone(300, 1.0f, 16000));
  const int b = peak_band(low, 50);
  EXPECT_NEAR(louder[50 * SpeakerMel::kMels + b] / low[50 * SpeakerMel::kMels + b], 4.0, 1e-4);
  // Silence is zero.
  for (float v : mel.compute(std::vector<float>(800, 0.f))) EXPECT_EQ(v, 0.f);
}

}  // namespace
}  // namespace voiceman::features
