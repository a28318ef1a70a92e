// The whole detector on a real recording (sample.wav, a 30 s two-speaker call) with the
// real Silero model. Expected regions are faster-whisper 1.2.1's get_speech_timestamps on
// the same clip; our decoder and its may differ in the last bit, so boundaries get the
// parity tolerance of 30 ms (480 samples).
#include "voiceman/vad/vad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/paths.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/silero_vad.h"

namespace voiceman::vad {
namespace {

std::filesystem::path model_path() { return voiceman::testing::model_dir("silero_vad_v6.onnx"); }

class RealVad : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(model_path()))
      GTEST_SKIP() << "no " << model_path() << " (run scripts/fetch-models.sh)";
  }
};

void expect_regions(const std::vector<SpeechRegion>& got, const std::vector<SpeechRegion>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i].start, want[i].start, 480) << "region " << i;
    EXPECT_NEAR(got[i].end, want[i].end, 480) << "region " << i;
  }
}

TEST_F(RealVad, SampleCallMatchesFasterWhisper) {
  const auto wav = voiceman::testing::shared_data_dir() / "sample.wav";
  if (!std::filesystem::exists(wav)) GTEST_SKIP() << "no " << wav;
  const auto audio = audio::decode_file(wav).samples;
  ASSERT_EQ(audio.size(), 480000u);
  const Vad vad(model_path());
  const auto probs = vad.probabilities(audio);
  EXPECT_EQ(probs.size(), 480000u / 512 + 1);
  for (float p : probs) ASSERT_TRUE(p >= 0.f && p <= 1.f);

  expect_regions(vad.detect(audio, {}), {{102144, 480000}});
  VadOptions batched;
  batched.max_speech_duration_s = 30;
  batched.min_silence_duration_ms = 160;
  const auto regions = vad.detect(audio, batched);
  expect_regions(regions, {{102144, 116736}, {116736, 288000}, {288000, 346624}, {346624, 480000}});
  const auto chunks = collect_chunks(regions, 16000, 30);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_NEAR(chunks[0].duration_s, 23.616, 0.03);
}

TEST_F(RealVad, SilenceIsNotSpeechAndFramesAreCausal) {
  const Vad vad(model_path());
  EXPECT_TRUE(vad.detect(std::vector<float>(16000 * 5, 0.f), {}).empty());
  EXPECT_TRUE(vad.detect(std::vector<float>{}, {}).empty());
  EXPECT_EQ(vad.probabilities(std::vector<float>{}).size(), 1u);  // faster-whisper's padding
  // A probability depends only on audio up to its frame (the LSTM runs forwards), also
  // across the encoder's 2048-frame blocks.
  std::vector<float> audio(512 * 2100);
  for (size_t i = 0; i < audio.size(); ++i)
    audio[i] = 0.3f * std::sin(0.05f * i) * std::sin(0.0007f * i);
  const models::SileroVad model = models::SileroVad::load(model_path());
  const ExecContext ctx;
  const auto full = model.probabilities(ctx, audio);
  const auto prefix = model.probabilities(ctx, std::span<const float>(audio).first(512 * 2050));
  ASSERT_EQ(full.size(), 2100u);
  ASSERT_EQ(prefix.size(), 2050u);
  // (GEMM blocking depends on the block's size: equal up to float rounding.)
  for (size_t i = 0; i < prefix.size(); ++i) ASSERT_NEAR(full[i], prefix[i], 1e-5) << i;
  // Restarting the LSTM from zeros at frame 2048 would change the next frames far more.
  const auto restarted =
      model.probabilities(ctx, std::span<const float>(audio).subspan(512 * 2048));
  double moved = 0;
  for (size_t i = 0; i < 4; ++i)
    moved = std::max(moved, std::fabs(double(restarted[i]) - full[2048 + i]));
  EXPECT_GT(moved, 1e-3);
}

TEST(VadModel, MissingOrCorruptFileIsAModelErrorNamingIt) {
  EXPECT_THROW(Vad("/nonexistent/silero.onnx"), ModelError);
  if (!std::filesystem::exists(model_path())) GTEST_SKIP();
  const auto dir = voiceman::testing::scratch_dir("vad_model");
  const auto cut = dir / "cut.onnx";
  {
    std::ifstream in(model_path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  }
  try {
    Vad v(cut);
    FAIL() << "a truncated model loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.onnx"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace voiceman::vad
