#include "voiceman/audio/resample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace voiceman::audio {
namespace {

std::vector<float> tone(int rate, double hz, double seconds, double amplitude = 0.5) {
  std::vector<float> x(static_cast<size_t>(rate * seconds));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * i / rate));
  }
  return x;
}

// Max error against the ideal 16 kHz tone, ignoring the filter's edge transients.
double tone_error(const std::vector<float>& y, double hz, double amplitude = 0.5) {
  double worst = 0.0;
  for (size_t j = 400; j + 400 < y.size(); ++j) {
    worst = std::max(worst, std::abs(y[j] - amplitude * std::sin(2 * M_PI * hz * j / 16000.0)));
  }
  return worst;
}

// Documented tolerance: passband error below 2e-5 of full scale up to 6 kHz for any
// source rate whose Nyquist frequency is above the tone.
TEST(Resample, PassbandIsAccurateForCommonAndOddRates) {
  for (int rate : {8000, 11025, 22050, 32000, 44100, 48000, 96000, 44101, 12345}) {
    for (double hz : {100.0, 1000.0, 3000.0, 6000.0}) {
      if (hz >= 0.45 * rate) continue;
      const auto y = resample(tone(rate, hz, 2.0), rate, 16000);
      EXPECT_EQ(y.size(), 32000u) << rate;
      EXPECT_LT(tone_error(y, hz), 2e-5) << "rate " << rate << " tone " << hz;
    }
  }
}

TEST(Resample, RejectsAboveTheNewNyquistRate) {
  // A 10 kHz tone cannot exist at 16 kHz: it must be filtered out, not aliased to 6 kHz.
  for (int rate : {44100, 48000}) {
    const auto y = resample(tone(rate, 10000.0, 1.0), rate, 16000);
    double peak = 0.0;
    for (size_t j = 400; j + 400 < y.size(); ++j) peak = std::max(peak, std::abs(double{y[j]}));
    EXPECT_LT(peak, 1e-4) << rate;
  }
}

TEST(Resample, StreamingInPiecesEqualsOneShot) {
  const auto x = tone(44100, 440.0, 3.0);
  const auto whole = resample(x, 44100, 16000);
  Resampler resampler(44100, 16000);
  std::vector<float> pieces;
  size_t at = 0, step = 1;
  while (at < x.size()) {
    const size_t n = std::min(step, x.size() - at);
    resampler.push(std::span<const float>(x).subspan(at, n), pieces);
    at += n;
    step = step * 3 % 70001 + 1;  // uneven chunk sizes, from 1 sample to ~70k
  }
  resampler.finish(pieces);
  EXPECT_EQ(pieces, whole);
}

TEST(Resample, LengthIsRoundedRatio) {
  EXPECT_EQ(resample(std::vector<float>(44100), 44100, 16000).size(), 16000u);
  EXPECT_EQ(resample(std::vector<float>(1000), 48000, 16000).size(), 333u);
  EXPECT_EQ(resample(std::vector<float>(1001), 8000, 16000).size(), 2002u);
  EXPECT_TRUE(resample(std::vector<float>(), 44100, 16000).empty());
  const std::vector<float> same = {0.1f, 0.2f};
  EXPECT_EQ(resample(same, 16000, 16000), same);
  EXPECT_THROW(Resampler(0, 16000), std::invalid_argument);
}

}  // namespace
}  // namespace voiceman::audio
