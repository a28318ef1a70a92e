// End-to-end transcription on real clips with the real tiny.en model.
#include "voiceman/asr/transcriber.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "support/paths.h"
#include "voiceman/asr/prompt.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"

namespace voiceman::asr {
namespace {

std::string normalize(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(c));
    else if (std::isspace(static_cast<unsigned char>(c)) && !out.empty() && out.back() != ' ')
      out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string full_text(const Transcript& t) {
  std::string s;
  for (const auto& seg : t.segments) s += seg.text;
  return s;
}

class TranscriberTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = testing::model_dir("tiny.en");
    if (!std::filesystem::exists(dir / "model.bin")) return;
    ExecContext ctx;
    ctx.threads = 2;
    transcriber_ = new Transcriber(models::WhisperModel::load(dir, models::ComputeType::float32),
                                   tokenizer::Tokenizer::load(dir), ctx);
  }
  static void TearDownTestSuite() {
    delete transcriber_;
    transcriber_ = nullptr;
  }
  void SetUp() override {
    if (!transcriber_) GTEST_SKIP() << "models/tiny.en not fetched";
  }
  static Transcriber* transcriber_;
};

Transcriber* TranscriberTest::transcriber_ = nullptr;

TEST_F(TranscriberTest, JfkGreedy) {
  const auto audio = audio::decode_file(testing::shared_data_dir() / "jfk.flac");
  TranscribeOptions o;
  o.beam_size = 1;
  o.temperatures = {0.f};
  const Transcript t = transcriber_->transcribe(audio.samples, o);
  EXPECT_EQ(t.language, "en");
  EXPECT_NEAR(t.duration, 11.0, 0.01);
  EXPECT_EQ(normalize(full_text(t)),
            "and so my fellow americans ask not what your country can do for you ask what you can "
            "do for your country");
  ASSERT_FALSE(t.segments.empty());
  EXPECT_GE(t.segments.front().start, 0.0);
  EXPECT_LE(t.segments.back().end, 11.0);
}

TEST_F(TranscriberTest, WordTimestampsAreOrderedAndInsideSegments) {
  const auto audio = audio::decode_file(testing::shared_data_dir() / "jfk.flac");
  TranscribeOptions o;
  o.word_timestamps = true;
  const Transcript t = transcriber_->transcribe(audio.samples, o);
  size_t words = 0;
  double last = 0;
  for (const auto& seg : t.segments) {
    for (const auto& w : seg.words) {
      EXPECT_LE(w.start, w.end) << w.word;
      EXPECT_GE(w.start + 1e-6, last) << w.word;
      EXPECT_GE(w.start + 1e-6, seg.start) << w.word;
      EXPECT_LE(w.end, seg.end + 1e-6) << w.word;
      EXPECT_GT(w.probability, 0.f);
      last = w.start;
      ++words;
    }
  }
  EXPECT_EQ(words, 22u);  // "And so, my fellow Americans, ask not ... your country."
}

// Windows of several recordings decoded in one batch give exactly what each gives alone.
TEST_F(TranscriberTest, BatchedEqualsOneByOne) {
  const auto a = audio::decode_file(testing::shared_data_dir() / "jfk.flac");
  const auto b = audio::decode_file(testing::shared_data_dir() / "sample.wav");
  const auto c =
      audio::decode_file(testing::shared_data_dir() / "lhotse/ES2011a.Headset-0-40s-46s.wav");
  TranscribeOptions o;
  o.word_timestamps = true;
  o.beam_size = 2;  // beams on, at a CI-friendly cost
  o.batch_windows = 3;
  const auto together = transcriber_->transcribe({a.samples, b.samples, c.samples}, o);
  const std::vector<const audio::Audio*> inputs = {&a, &b, &c};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Transcript alone = transcriber_->transcribe(inputs[i]->samples, o);
    ASSERT_EQ(alone.segments.size(), together[i].segments.size()) << i;
    for (size_t s = 0; s < alone.segments.size(); ++s) {
      EXPECT_EQ(alone.segments[s].text, together[i].segments[s].text);
      EXPECT_EQ(alone.segments[s].start, together[i].segments[s].start);
      EXPECT_EQ(alone.segments[s].end, together[i].segments[s].end);
      ASSERT_EQ(alone.segments[s].words.size(), together[i].segments[s].words.size());
      for (size_t w = 0; w < alone.segments[s].words.size(); ++w) {
        EXPECT_EQ(alone.segments[s].words[w].start, together[i].segments[s].words[w].start);
        EXPECT_EQ(alone.segments[s].words[w].end, together[i].segments[s].words[w].end);
      }
    }
  }
}

// Digital silence: faster-whisper 1.2.1 with tiny.en returns one segment [0.00 -> 2.00]
// " You" with no_speech_prob 0.939 and avg_logprob -0.926 (kept: above the -1 threshold).
TEST_F(TranscriberTest, SilenceBehavesAsTheReference) {
  const std::vector<float> silence(16000 * 5, 0.f);
  const Transcript t = transcriber_->transcribe(silence, TranscribeOptions{});
  ASSERT_EQ(t.segments.size(), 1u) << full_text(t);
  EXPECT_EQ(t.segments[0].text, " You");
  EXPECT_NEAR(t.segments[0].no_speech_prob, 0.9393, 2e-3);
  EXPECT_NEAR(t.segments[0].avg_logprob, -0.9262, 2e-3);
  EXPECT_DOUBLE_EQ(t.segments[0].end, 2.0);
}

// A window skipped as silence does not reset the prompt (faster-whisper's
// generate_segments leaves the loop before its reset): after 31 s of faint noise the
// initial prompt still conditions the speech, even without condition_on_previous_text.
TEST_F(TranscriberTest, ASkippedWindowKeepsTheInitialPrompt) {
  // Faint Gaussian noise (Box-Muller over an LCG, the same on every standard library).
  std::vector<float> audio(16000 * 31);
  uint32_t state = 1;
  auto uniform = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<double>(state >> 8) / 16777216.0;
  };
  for (float& x : audio) {
    const double u1 = uniform() + 1.0 / 16777216.0, u2 = uniform();
    x = static_cast<float>(0.002 * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
  }
  const auto jfk = audio::decode_file(testing::shared_data_dir() / "jfk.flac");
  audio.insert(audio.end(), jfk.samples.begin(), jfk.samples.end());
  TranscribeOptions plain;
  plain.condition_on_previous_text = false;
  TranscribeOptions prompted = plain;
  prompted.initial_prompt = "THE MEDICAL PRACTITIONER IS ENDOWED";
  const Transcript a = transcriber_->transcribe(audio, plain);
  const Transcript b = transcriber_->transcribe(audio, prompted);
  ASSERT_FALSE(a.segments.empty());
  ASSERT_FALSE(b.segments.empty());
  EXPECT_GE(a.segments.front().start, 30.0) << "the noise window was not skipped";
  EXPECT_GE(b.segments.front().start, 30.0) << "the noise window was not skipped";
  EXPECT_NE(a.segments.front().avg_logprob, b.segments.front().avg_logprob)
      << "the prompt was lost with the skipped window";
}

TEST_F(TranscriberTest, InvalidOptionsAreRejected) {
  TranscribeOptions o;
  o.beam_size = 0;
  EXPECT_THROW(transcriber_->transcribe(std::vector<float>(1600), o), ConfigError);
  o = {};
  o.temperatures = {};
  EXPECT_THROW(transcriber_->transcribe(std::vector<float>(1600), o), ConfigError);
}

TEST(Prompt, SuppressedTokensExpandMinusOne) {
  decoding::SpecialTokens s;
  s.suppress_ids = {1, 2, 50257};
  const auto ids = suppressed_tokens({-1, 7}, s);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  for (int32_t id : {1, 2, 7, 50257, 50358, 50357, 50360, 50359, 50361})
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  EXPECT_TRUE(suppressed_tokens({}, s).empty());
  EXPECT_THROW(suppressed_tokens({-2}, s), ConfigError);
}

}  // namespace
}  // namespace voiceman::asr

namespace voiceman::asr {
namespace {

// The multilingual base model on the Korean and German clips. Expected values are
// faster-whisper 1.2.1's on the same folder (float32, defaults): language, its
// probability and the text.
TEST(MultilingualTranscriber, DetectsLanguageAndTranscribesLikeTheReference) {
  const auto dir = testing::model_dir("base");
  if (!std::filesystem::exists(dir / "model.bin")) GTEST_SKIP() << "models/base not fetched";
  ExecContext ctx;
  ctx.threads = 2;
  const Transcriber t(models::WhisperModel::load(dir, models::ComputeType::float32),
                      tokenizer::Tokenizer::load(dir), ctx);
  struct Case {
    const char* clip;
    const char* language;
    float probability;
    const char* text;
  };
  const Case cases[] = {
      {"multilingual/leopard_test_ko.wav", "ko", 0.9833f,
       " \xea\xb7\xb8\xeb\x8a\x94 1\xec\x9c\x84\xec\xa0\x88\xec\x9d\xb4 \xed\x94\xbc\xed\x95\x98"
       "\xeb\xa9\xb4\xec\x84\x9c \xea\xb8\xb8 \xed\x95\x9c \xec\x98\x86\xec\x9c\xbc\xeb\xa1\x9c "
       "\xea\xb1\xb8\xec\x96\xb4\xea\xb0\x94\xeb\x8b\xa4."},
      {"multilingual/leopard_test_de.wav", "de", 0.9993f,
       " Der hinter diesem portal liegende Raum wurde als Leichenhaler genutzt."},
  };
  for (const Case& c : cases) {
    const auto audio = audio::decode_file(testing::shared_data_dir() / c.clip);
    const Transcript r = t.transcribe(audio.samples, TranscribeOptions{});
    EXPECT_EQ(r.language, c.language) << c.clip;
    EXPECT_NEAR(r.language_probability, c.probability, 2e-3) << c.clip;
    EXPECT_EQ(full_text(r), c.text) << c.clip;
  }
}

}  // namespace
}  // namespace voiceman::asr
