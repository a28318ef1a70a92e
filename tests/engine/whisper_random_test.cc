// Random-weight Whisper models (the GPU benchmark's and parity tests' models) on the CPU.
#include <gtest/gtest.h>

#include <random>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/models/whisper_model.h"

namespace voiceman::models {
namespace {

WhisperConfig tiny_config() {
  WhisperConfig c;
  c.n_mels = 16;
  c.d_model = 64;
  c.encoder_layers = c.decoder_layers = 2;
  c.encoder_heads = c.decoder_heads = 2;
  c.vocab_size = 100;
  c.max_target_positions = 32;
  c.audio_frames = 1500;
  return c;
}

std::vector<float> run(const WhisperModel& model) {
  ExecContext ctx;
  Tensor features({1, 16, 3000});
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (float& v : features.span<float>()) v = dist(rng);
  const Tensor encoded = model.encode(ctx, features);
  auto session = model.start_decoder(ctx, encoded);
  std::vector<float> logits, sot;
  session->start({{1, 2}}, std::vector<int32_t>{0}, std::vector<int32_t>{-1}, logits, sot);
  session->step(std::vector<int32_t>{3}, logits);
  return logits;
}

TEST(RandomWhisper, SameSeedSameModelDifferentSeedDifferentModel) {
  const auto a = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  const auto b = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  const auto c = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 5);
  const auto la = run(*a);
  ASSERT_EQ(la.size(), 100u);
  for (float v : la) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(la, run(*b));
  EXPECT_NE(la, run(*c));
  EXPECT_EQ(a->device(), Device::cpu());
  EXPECT_EQ(a->dtype(), DType::f32);
}

TEST(RandomWhisper, Int8RunsAndHalfPrecisionNeedsAGpu) {
  const auto q = WhisperModel::random(tiny_config(), ComputeType::int8, Device::cpu(), 4);
  const auto f = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  const auto lq = run(*q), lf = run(*f);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < lf.size(); ++i) {
    diff = std::max(diff, double(std::fabs(lq[i] - lf[i])));
    scale = std::max(scale, double(std::fabs(lf[i])));
  }
  EXPECT_LT(diff / scale, 0.1);
  EXPECT_THROW(WhisperModel::random(tiny_config(), ComputeType::float16, Device::cpu()),
               ConfigError);
  EXPECT_THROW(parse_compute_type("float8"), ConfigError);
  EXPECT_EQ(parse_compute_type("bfloat16"), ComputeType::bfloat16);
  EXPECT_EQ(activation_dtype(ComputeType::int8, Device::cuda()), DType::f16);
  EXPECT_EQ(activation_dtype(ComputeType::int8, Device::cpu()), DType::f32);
}

}  // namespace
}  // namespace voiceman::models
