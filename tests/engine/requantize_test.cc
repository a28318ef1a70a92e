// The model.bin writer and the int8 re-quantisation of a real model folder (the file the
// GPU check carries): what is written is what ModelFile reads, and an int8 load of the
// re-quantised folder computes what an int8 load of the original does.
#include "voiceman/engine/models/requantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/paths.h"
#include "voiceman/asr/transcriber.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/model_file.h"
#include "voiceman/engine/models/model_writer.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/features/mel.h"
#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::models {
namespace {

namespace fs = std::filesystem;

TEST(ModelFileWriter, WhatIsWrittenIsWhatIsRead) {
  const std::vector<float> f32 = {1.5f, -2.f, 0.25f, 3.f, 4.f, -5.f};
  const std::vector<uint16_t> f16 = {0x3c00, 0xc000};  // 1, -2
  const std::vector<int8_t> q = {127, -64, 0, 1};
  const std::vector<float> scales = {127.f, 2.f};
  const int32_t heads = 6;
  ModelFileWriter w("WhisperSpec", 3, 5);
  w.add("a/weight", {2, 3}, DType::f32, f32.data(), f32.size() * 4);
  w.add("b/gamma", {2}, DType::f16, f16.data(), f16.size() * 2);
  w.add("c/weight", {2, 2}, DType::i8, q.data(), q.size());
  w.add("c/weight_scale", {2}, DType::f32, scales.data(), scales.size() * 4);
  w.add("num_heads", {}, DType::i32, &heads, 4);
  w.alias("d/weight", "c/weight");
  w.alias("d/weight_scale", "c/weight_scale");
  const fs::path path = voiceman::testing::scratch_dir("model_writer") / "model.bin";
  w.write(path);

  const ModelFile file = ModelFile::open(path, "WhisperSpec");
  EXPECT_EQ(file.binary_version(), 5u);
  EXPECT_EQ(file.spec_revision(), 3u);
  EXPECT_EQ(file.variables().size(), 5u);
  EXPECT_EQ(file.to_float("a/weight", {2, 3}).to_vector(), f32);
  EXPECT_EQ(file.to_float("b/gamma", {2}).to_vector(), (std::vector<float>{1.f, -2.f}));
  EXPECT_EQ(file.scalar_int("num_heads"), 6);
  // int8 reads back as q / scale, through the alias too.
  const std::vector<float> dequantised = {1.f, -64.f / 127.f, 0.f, 0.5f};
  EXPECT_EQ(file.to_float("d/weight", {2, 2}).to_vector(), dequantised);
  EXPECT_EQ(file.aliases().at("d/weight"), "c/weight");
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(path.parent_path()), fs::directory_iterator()), 1);
}

TEST(ModelFileWriter, RejectsInconsistentVariables) {
  ModelFileWriter w("WhisperSpec", 1);
  const std::vector<float> v(6);
  EXPECT_THROW(w.add("x", {2, 3}, DType::f32, v.data(), 20), ModelError);  // 24 expected
  EXPECT_THROW(w.add("", {6}, DType::f32, v.data(), 24), ModelError);
  w.add("x", {6}, DType::f32, v.data(), 24);
  EXPECT_THROW(w.add("x", {6}, DType::f32, v.data(), 24), ModelError);
  EXPECT_THROW(w.write("/proc/voiceman-cannot-write/model.bin"), ModelError);
}

class RequantizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = new fs::path(voiceman::testing::model_dir("tiny.en"));
    if (!fs::exists(*source_ / "model.bin")) return;
    target_ = new fs::path(voiceman::testing::scratch_dir("requantize") / "tiny.en-int8");
    report_ = new RequantizeReport(requantize_int8(*source_, *target_));
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
    delete report_;
  }
  void SetUp() override {
    if (!report_) GTEST_SKIP() << "models/tiny.en not fetched";
  }
  static fs::path* source_;
  static fs::path* target_;
  static RequantizeReport* report_;
};
fs::path* RequantizeTest::source_ = nullptr;
fs::path* RequantizeTest::target_ = nullptr;
RequantizeReport* RequantizeTest::report_ = nullptr;

TEST_F(RequantizeTest, MatricesBecomeInt8AndTheRestIsCopied) {
  // tiny.en: 4 + 4 layers hold 44 linear matrices, plus the token embeddings.
  EXPECT_EQ(report_->quantized, 45);
  EXPECT_LT(report_->bytes_out, 41'000'000u);  // carried to the GPU within 64 MiB
  EXPECT_GT(report_->bytes_out, report_->bytes_in / 2);
  for (const char* f : {"config.json", "tokenizer.json"}) EXPECT_TRUE(fs::exists(*target_ / f));
  EXPECT_FALSE(fs::exists(*target_ / ".verified"));

  const ModelFile in = ModelFile::open(*source_ / "model.bin", "WhisperSpec");
  const ModelFile out = ModelFile::open(*target_ / "model.bin", "WhisperSpec");
  EXPECT_EQ(out.binary_version(), in.binary_version());
  EXPECT_EQ(out.spec_revision(), in.spec_revision());
  int quantized = 0;
  for (const auto& [name, v] : in.variables()) {
    const VariableInfo& o = out.info(name);
    ASSERT_EQ(o.shape, v.shape) << name;
    if (o.dtype == v.dtype) {
      EXPECT_EQ(std::memcmp(out.raw(name), in.raw(name), v.bytes), 0) << name;
      continue;
    }
    ASSERT_EQ(o.dtype, DType::i8) << name;
    ++quantized;
    // Each element is within half a quantisation step of the original.
    const Tensor w = in.to_float(name, v.shape);
    const Tensor d = out.to_float(name, v.shape);
    const Tensor scale = out.to_float(name + "_scale", {v.shape[0]});
    const int64_t cols = v.shape[1];
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float step = 1.f / scale.data<float>()[i / cols];
      ASSERT_LE(std::fabs(d.data<float>()[i] - w.data<float>()[i]), 0.5001f * step) << name;
    }
  }
  EXPECT_EQ(quantized, report_->quantized);
  // The tied projection reads the embeddings' int8 matrix and scale.
  EXPECT_EQ(out.info("decoder/projection/weight").offset,
            out.info("decoder/embeddings/weight").offset);
  EXPECT_EQ(out.info("decoder/projection/weight_scale").offset,
            out.info("decoder/embeddings/weight_scale").offset);
}

TEST_F(RequantizeTest, RefusesToWriteOverItsSource) {
  EXPECT_THROW(requantize_int8(*source_, *source_), ConfigError);
}

// The encoder has no embeddings, so with the stored int8 matrices used as they are, it
// must equal the original loaded as int8 bit for bit.
TEST_F(RequantizeTest, Int8EncoderEqualsTheOriginalsBitForBit) {
  const auto audio = audio::read_wav(voiceman::testing::shared_data_dir() / "sample.wav");
  const features::MelExtractor mel(80);
  int frames = 0;
  const auto spec = mel.compute(audio.samples, 160, &frames);
  ASSERT_GE(frames, features::MelExtractor::kChunkFrames);
  Tensor features({1, 80, features::MelExtractor::kChunkFrames});
  for (int m = 0; m < 80; ++m)
    std::memcpy(features.data<float>() + m * features::MelExtractor::kChunkFrames,
                spec.data() + static_cast<size_t>(m) * frames,
                features::MelExtractor::kChunkFrames * sizeof(float));
  ExecContext ctx;
  ctx.threads = 2;
  const auto original = WhisperModel::load(*source_, ComputeType::int8);
  const auto requantized = WhisperModel::load(*target_, ComputeType::int8);
  const Tensor a = original->encode(ctx, features);
  const Tensor b = requantized->encode(ctx, features);
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.data<float>(), b.data<float>(), a.numel() * sizeof(float)), 0);
}

// Words only: lower case, letters, digits and apostrophes.
std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (const char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  return out;
}

// Word error rate of `hyp` against `ref` (word-level edit distance / reference words).
double word_error_rate(const std::vector<std::string>& hyp, const std::vector<std::string>& ref) {
  std::vector<size_t> row(hyp.size() + 1), next(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    next[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j)
      next[j] = std::min({row[j] + 1, next[j - 1] + 1, row[j - 1] + (ref[i - 1] != hyp[j - 1])});
    row.swap(next);
  }
  return static_cast<double>(row[hyp.size()]) /
         static_cast<double>(std::max<size_t>(1, ref.size()));
}

// An int8 load quantises the original's matrices, the tied embeddings included, as the
// re-quantisation does, so the carried model is the same model: the same tokens on the
// real call, and as accurate as the manifest's text asks.
TEST_F(RequantizeTest, TranscribesTheRealCallAsTheOriginalDoes) {
  const fs::path data = voiceman::testing::shared_data_dir();
  const auto audio = audio::read_wav(data / "sample.wav");
  std::string reference;
  for (const auto& entry : nlohmann::json::parse(std::ifstream(data / "manifest.json")))
    if (entry.at("id") == "sample") reference = entry.at("reference_text");
  ASSERT_FALSE(reference.empty());
  ExecContext ctx;
  ctx.threads = 2;
  asr::TranscribeOptions options;
  const auto transcribe = [&](const fs::path& dir) {
    const asr::Transcriber t(WhisperModel::load(dir, ComputeType::int8),
                             tokenizer::Tokenizer::load(dir), ctx);
    return t.transcribe(audio.samples, options).segments;
  };
  const std::vector<Segment> original = transcribe(*source_);
  const std::vector<Segment> requantized = transcribe(*target_);
  std::string text;
  ASSERT_EQ(original.size(), requantized.size());
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(original[i].tokens, requantized[i].tokens) << "segment " << i;
    EXPECT_EQ(original[i].start, requantized[i].start) << "segment " << i;
    EXPECT_EQ(original[i].avg_logprob, requantized[i].avg_logprob) << "segment " << i;
    text += original[i].text;
  }
  const double wer = word_error_rate(words(text), words(reference));
  std::printf("sample.wav WER, int8: %.3f\n", wer);
  EXPECT_LT(wer, 0.25);
}

}  // namespace
}  // namespace voiceman::models
