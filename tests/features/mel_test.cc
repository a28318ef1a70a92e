// Known answers from faster-whisper 1.2.1's FeatureExtractor (numpy 2.4), generated once
// with the reference venv; the project tolerance for features is 1e-3 max abs.
#include "voiceman/features/mel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace voiceman::features {
namespace {

constexpr double kTolerance = 1e-3;

// 1 s at 16 kHz: 0.5 sin(440 Hz) + 0.25 linear chirp 100 Hz -> 4 kHz, cast to float32.
// Reference: t = np.arange(16000) / 16000; ((0.5 * np.sin(2*np.pi*440*t) +
//            0.25 * np.sin(2*np.pi*(100*t + 1950*t*t))).astype(np.float32)
std::vector<float> sine_and_chirp() {
  std::vector<float> x(16000);
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = static_cast<double>(i) / 16000.0;
    x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440 * t) +
                              0.25 * std::sin(2 * M_PI * (100 * t + 1950 * t * t)));
  }
  return x;
}

struct Point {
  int bin, frame;
  float value;
};

struct Summary {
  double mean, max, min;
};

void expect_matches(const std::vector<float>& mel, int n_mels, int frames,
                    const std::vector<Point>& points, Summary summary) {
  ASSERT_EQ(mel.size(), static_cast<size_t>(n_mels) * frames);
  for (const Point& p : points) {
    EXPECT_NEAR(mel[static_cast<size_t>(p.bin) * frames + p.frame], p.value, kTolerance)
        << "bin " << p.bin << " frame " << p.frame;
  }
  const double mean = std::accumulate(mel.begin(), mel.end(), 0.0) / mel.size();
  EXPECT_NEAR(mean, summary.mean, kTolerance);
  EXPECT_NEAR(*std::max_element(mel.begin(), mel.end()), summary.max, kTolerance);
  EXPECT_NEAR(*std::min_element(mel.begin(), mel.end()), summary.min, kTolerance);
}

TEST(MelExtractor, SineAndChirp80MatchesFasterWhisper) {
  MelExtractor extractor(80);
  int frames = 0;
  const auto mel = extractor.compute(sine_and_chirp(), 160, &frames);
  ASSERT_EQ(frames, 101);
  expect_matches(mel, 80, frames,
                 {{11, 68, 1.4382038f},
                  {33, 37, 0.0215290f},
                  {37, 0, 0.4783105f},
                  {41, 41, 0.8794427f},
                  {48, 55, 0.9887629f},
                  {52, 71, 0.7111828f},
                  {57, 72, -0.4158920f},
                  {60, 88, 0.6330250f},
                  {0, 0, 1.2734342f},
                  {10, 50, 1.3487380f},
                  {20, 25, -0.3129423f},
                  {79, 100, 0.1839334f},
                  {5, 100, 0.9044855f},
                  {40, 75, -0.5304390f}},
                 {-0.2978353, 1.4695610, -0.5304390});
}

TEST(MelExtractor, SineAndChirp128MatchesFasterWhisper) {
  MelExtractor extractor(128);
  EXPECT_EQ(extractor.n_mels(), 128);
  int frames = 0;
  const auto mel = extractor.compute(sine_and_chirp(), 160, &frames);
  ASSERT_EQ(frames, 101);
  expect_matches(mel, 128, frames,
                 {{16, 80, 1.3445051f},
                  {17, 11, 1.3440691f},
                  {23, 7, 0.1713000f},
                  {27, 20, -0.2345167f},
                  {42, 20, 0.5196776f},
                  {80, 56, -0.0768895f},
                  {82, 66, 1.2097861f},
                  {82, 74, -0.3249953f},
                  {0, 0, 1.1976750f},
                  {127, 100, 0.1830184f}},
                 {-0.2868292, 1.5154033, -0.4845967});
}

TEST(MelExtractor, FilterBankMatchesFasterWhisper) {
  const MelExtractor mel80(80);
  const auto& f = mel80.filters();
  ASSERT_EQ(f.size(), 80u * MelExtractor::kBins);
  auto at = [&](int bin, int k) { return f[static_cast<size_t>(bin) * MelExtractor::kBins + k]; };
  EXPECT_NEAR(at(0, 1), 0.0248625949f, 1e-8);
  EXPECT_NEAR(at(1, 2), 0.0228717718f, 1e-8);
  EXPECT_NEAR(at(10, 11), 0.00495437533f, 1e-8);
  EXPECT_NEAR(at(40, 42), 0.00541110523f, 1e-8);
  EXPECT_NEAR(at(40, 43), 0.0147355655f, 1e-8);
  EXPECT_NEAR(at(40, 44), 0.0065181898f, 1e-8);
  EXPECT_NEAR(at(79, 186), 0.000366741675f, 1e-8);
  EXPECT_NEAR(at(79, 193), 0.00314131309f, 1e-8);
  EXPECT_NEAR(at(79, 199), 0.000448759034f, 1e-8);
  // Filters are triangles: zero outside their support (bins 42..44 for filter 40).
  EXPECT_EQ(at(0, 0), 0.0f);
  EXPECT_EQ(at(0, 2), 0.0f);
  EXPECT_EQ(at(40, 41), 0.0f);
  EXPECT_EQ(at(40, 45), 0.0f);
  EXPECT_EQ(at(79, 200), 0.0f);

  const MelExtractor mel128(128);
  const auto& g = mel128.filters();
  EXPECT_NEAR(g[0 * MelExtractor::kBins + 1], 0.0123739867f, 1e-8);
  EXPECT_NEAR(g[127 * MelExtractor::kBins + 195], 0.0050416016f, 1e-8);
}

TEST(MelExtractor, FrameCountFollowsPadding) {
  MelExtractor extractor;
  int frames = -1;
  EXPECT_EQ(extractor.compute(std::vector<float>(480000, 0.0f), 160, &frames).size(), 80u * 3001);
  EXPECT_EQ(frames, 3001);
  extractor.compute(std::vector<float>(16000, 0.0f), 0, &frames);
  EXPECT_EQ(frames, 100);
  extractor.compute(std::vector<float>(50, 0.1f), 160, &frames);  // reflect pad > signal
  EXPECT_EQ(frames, 1);
  EXPECT_TRUE(extractor.compute(std::vector<float>(159, 0.1f), 0, &frames).empty());
  EXPECT_EQ(frames, 0);
  EXPECT_THROW(extractor.compute(std::vector<float>(10, 0.0f), -1), std::invalid_argument);
}

TEST(MelExtractor, SilenceClampsAtLogFloor) {
  // log10(1e-10) = -10, so every value is (-10 + 4) / 4 = -1.5.
  MelExtractor extractor;
  const auto mel = extractor.compute(std::vector<float>(8000, 0.0f));
  ASSERT_FALSE(mel.empty());
  for (float v : mel) ASSERT_NEAR(v, -1.5f, 1e-6);
}

// A NaN sample reaches the features only through the API (the readers make it silence):
// the frames it touches are the floor, the rest as without it, on every device.
TEST(MelExtractor, ANanSampleLeavesItsFramesAtTheFloor) {
  std::vector<float> x(16000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440 * static_cast<double>(i) / 16000));
  MelExtractor extractor;
  int frames = 0;
  const auto clean = extractor.compute(x, 160, &frames);
  x[8000] = std::numeric_limits<float>::quiet_NaN();
  const auto damaged = extractor.compute(x, 160, &frames);
  ASSERT_EQ(damaged.size(), clean.size());
  const float floor = *std::min_element(clean.begin(), clean.end());
  int touched = 0;
  for (int m = 0; m < 80; ++m) {
    for (int t = 0; t < frames; ++t) {
      const size_t i = static_cast<size_t>(m) * frames + t;
      ASSERT_TRUE(std::isfinite(damaged[i])) << m << " " << t;
      // Frames 49..51 hold sample 8000 (hop 160, window 400 centred on t * 160).
      if (t >= 49 && t <= 51) {
        touched += damaged[i] == floor;
        EXPECT_LE(damaged[i], clean[i]);
      } else {
        ASSERT_EQ(damaged[i], clean[i]) << m << " " << t;
      }
    }
  }
  EXPECT_EQ(touched, 3 * 80);
}

// Short input where the reflect padding wraps more than once (np.pad repeats reflections).
TEST(MelExtractor, ShortInputReflectsLikeNumpy) {
  std::vector<float> x(50);
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(i);
    x[i] = static_cast<float>(0.3 * std::sin(0.05 * d * d) + 0.1 * std::cos(0.7 * d));
  }
  MelExtractor extractor;
  int frames = 0;
  const auto mel = extractor.compute(x, 160, &frames);
  ASSERT_EQ(frames, 1);
  const std::vector<Point> expected = {{0, 0, 0.7451872f},
                                       {20, 0, 0.4463137f},
                                       {40, 0, 0.6397638f},
                                       {60, 0, 0.4951228f},
                                       {79, 0, 0.8471376f}};
  for (const Point& p : expected) EXPECT_NEAR(mel[p.bin], p.value, kTolerance) << "bin " << p.bin;
  EXPECT_NEAR(*std::min_element(mel.begin(), mel.end()), 0.20873863, kTolerance);
}

TEST(MelExtractor, FloorIsEightDecadesBelowTheGlobalPeak) {
  // A loud second followed by a very quiet one: the quiet part must be clamped to the
  // loud part's peak - 8 (i.e. - 2 after scaling), which needs the whole input.
  std::vector<float> x(32000);
  for (size_t i = 0; i < x.size(); ++i) {
    const double amp = i < 16000 ? 0.9 : 1e-7;
    x[i] = static_cast<float>(amp * std::sin(2 * M_PI * 1000 * static_cast<double>(i) / 16000));
  }
  MelExtractor extractor;
  const auto mel = extractor.compute(x);
  const float peak = *std::max_element(mel.begin(), mel.end());
  const float low = *std::min_element(mel.begin(), mel.end());
  EXPECT_NEAR(low, peak - 2.0f, 1e-5);
  // The quiet half alone has a much lower peak, so its own floor is lower.
  const auto quiet = extractor.compute(std::span<const float>(x).subspan(16000));
  EXPECT_LT(*std::max_element(quiet.begin(), quiet.end()), peak - 1.0f);
}

}  // namespace
}  // namespace voiceman::features
