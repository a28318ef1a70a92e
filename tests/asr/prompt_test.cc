// The decoder prompt as faster-whisper 1.2.1's get_prompt builds it.
#include "voiceman/asr/prompt.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/paths.h"

namespace voiceman::asr {
namespace {

class PromptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = testing::model_dir("tiny.en");
    if (!std::filesystem::exists(dir / "tokenizer.json"))
      GTEST_SKIP() << "models/tiny.en not fetched";
    tok_.emplace(tokenizer::Tokenizer::load(dir));
    sot_ = sot_sequence(*tok_, "en", "transcribe");
  }
  std::vector<int32_t> prompt(const PromptInputs& in) const {
    return build_prompt(*tok_, sot_, in, 448);
  }
  std::optional<tokenizer::Tokenizer> tok_;
  std::vector<int32_t> sot_;
};

// get_prompt tests `hotwords` and `prefix` for truth: "" adds nothing, as None.
TEST_F(PromptTest, EmptyHotwordsAndPrefixAreAbsent) {
  const PromptInputs none;
  ASSERT_EQ(prompt(none), sot_);
  PromptInputs in;
  in.hotwords = "";
  EXPECT_EQ(prompt(in), sot_);
  in = {};
  in.prefix = "";
  EXPECT_EQ(prompt(in), sot_);
  // An empty prefix does not turn given hotwords off either.
  in.hotwords = "Kennedy";
  PromptInputs hotwords_only;
  hotwords_only.hotwords = "Kennedy";
  EXPECT_EQ(prompt(in), prompt(hotwords_only));
}

TEST_F(PromptTest, HotwordsAndPrefixWhenGiven) {
  const auto specials = tok_->special_tokens();
  const std::vector<int32_t> kennedy = tok_->encode(" Kennedy");
  PromptInputs in;
  in.hotwords = "Kennedy";
  std::vector<int32_t> expected = {specials.sot_prev};
  expected.insert(expected.end(), kennedy.begin(), kennedy.end());
  expected.insert(expected.end(), sot_.begin(), sot_.end());
  EXPECT_EQ(prompt(in), expected);
  // A prefix replaces the hotwords, after <|0.00|>.
  in.prefix = "Kennedy";
  expected = sot_;
  expected.push_back(specials.timestamp_begin);
  expected.insert(expected.end(), kennedy.begin(), kennedy.end());
  EXPECT_EQ(prompt(in), expected);
}

}  // namespace
}  // namespace voiceman::asr
