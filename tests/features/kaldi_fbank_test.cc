// The Kaldi fbank front-end of WeSpeaker: snip-edges framing, a tone in the right band,
// log of power (doubling the amplitude adds ln 4), the epsilon floor on silence.
#include "voiceman/features/kaldi_fbank.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "features/tone.h"

namespace voiceman::features {
namespace {

using testing::tone;

TEST(KaldiFbank, FramingToneAndFloor) {
  EXPECT_EQ(KaldiFbank::num_frames(399), 0);
  EXPECT_EQ(KaldiFbank::num_frames(400), 1);
  EXPECT_EQ(KaldiFbank::num_frames(16000), 98);  // 1 + (16000 - 400) / 160
  const KaldiFbank fbank;
  ASSERT_EQ(fbank.num_mel_bins(), 80);
  const auto low = fbank.compute(tone(300, 1000.f, 16000));
  const auto high = fbank.compute(tone(3000, 1000.f, 16000));
  ASSERT_EQ(low.size(), 98u * 80);
  auto peak = [](const std::vector<float>& f) {
    return std::max_element(f.begin() + 40 * 80, f.begin() + 41 * 80) - (f.begin() + 40 * 80);
  };
  // Kaldi mel bands from 20 Hz to 8 kHz: torchaudio's fbank peaks in bands 10 and 52.
  EXPECT_EQ(peak(low), 10);
  EXPECT_EQ(peak(high), 52);
  const auto louder = fbank.compute(tone(300, 2000.f, 16000));
  const auto b = 40 * 80 + peak(low);
  EXPECT_NEAR(louder[b] - low[b], std::log(4.0), 1e-3);
  for (float v : fbank.compute(std::vector<float>(800, 0.f)))
    EXPECT_FLOAT_EQ(v, std::log(std::numeric_limits<float>::epsilon()));
}

}  // namespace
}  // namespace voiceman::features
