// Word splitting against faster-whisper 1.x Tokenizer.split_to_word_tokens outputs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/tokenizer_fixture.h"

namespace voiceman::tokenizer {
namespace {

using Ids = std::vector<int32_t>;
const std::string kReplacement = "\xEF\xBF\xBD";

void expect_split(const Tokenizer& tok, const Ids& ids, std::string_view language,
                  const std::vector<std::string>& words, const std::vector<Ids>& tokens) {
  const Tokenizer::WordTokens split = tok.split_to_word_tokens(ids, language);
  EXPECT_EQ(split.words, words) << language;
  EXPECT_EQ(split.tokens, tokens) << language;
}

TEST(SplitWords, EnglishJoinsSubwordsAndKeepsPunctuation) {
  TOKENIZER_OR_SKIP(tok, "base");
  // " Hello, world! It's a test." -- "'s" joins "It", " " + "test" stay together.
  expect_split(*tok, {2425, 11, 1002, 0, 467, 311, 257, 220, 31636, 13}, "en",
               {" Hello", ",", " world", "!", " It's", " a", " test", "."},
               {{2425}, {11}, {1002}, {0}, {467, 311}, {257}, {220, 31636}, {13}});
}

TEST(SplitWords, EnglishOnTinyEn) {
  TOKENIZER_OR_SKIP(tok, "tiny.en");
  expect_split(*tok, {18435, 11, 995, 0, 632, 338, 257, 1332, 13}, "en",
               {" Hello", ",", " world", "!", " It's", " a", " test", "."},
               {{18435}, {11}, {995}, {0}, {632, 338}, {257}, {1332}, {13}});
}

TEST(SplitWords, KoreanSplitsOnSpacesAcrossBrokenCharacters) {
  TOKENIZER_OR_SKIP(tok, "base");
  // 의 of " 회의를" spans tokens 673 and 18855.
  expect_split(*tok, {19289, 11, 8880, 22980, 673, 18855, 14525, 47309, 13}, "ko",
               {" 안녕하세요", ",", " 오늘", " 회의를", " 시작하겠습니다", "."},
               {{19289}, {11}, {8880}, {22980, 673, 18855}, {14525, 47309}, {13}});
}

TEST(SplitWords, JapaneseSplitsOnCharacters) {
  TOKENIZER_OR_SKIP(tok, "base");
  expect_split(*tok, {220, 43791, 33950, 1764, 6135, 25870, 14277, 1543}, "ja",
               {" ", "今日は", "良", "い", "天", "気", "ですね", "。"},
               {{220}, {43791}, {33950}, {1764}, {6135}, {25870}, {14277}, {1543}});
}

TEST(SplitWords, ChineseOnBase) {
  TOKENIZER_OR_SKIP(tok, "base");
  expect_split(*tok, {8624, 9497, 12074, 18937, 12949, 1543}, "zh",
               {" 我", "们", "今天", "开", "会", "。"},
               {{8624}, {9497}, {12074}, {18937}, {12949}, {1543}});
}

TEST(SplitWords, ChineseCharactersSpanningTokensOnTinyEn) {
  TOKENIZER_OR_SKIP(tok, "tiny.en");
  // GPT-2's vocab has few CJK tokens: most characters take two or three byte tokens.
  expect_split(*tok,
               {10545, 230, 239, 20015, 105, 20015, 232, 25465, 28156, 222, 27670, 248, 16764},
               "zh", {" 我", "们", "今", "天", "开", "会", "。"},
               {{10545, 230, 239},
                {20015, 105},
                {20015, 232},
                {25465},
                {28156, 222},
                {27670, 248},
                {16764}});
}

TEST(SplitWords, CharacterSpanningTwoTokensIsOneWord) {
  TOKENIZER_OR_SKIP(tok, "base");
  // " 憂鬱な午後": 憂 = 29713+224, 鬱 = 32506+109.
  expect_split(*tok, {220, 29713, 224, 32506, 109, 3203, 44237, 5661}, "zh",
               {" ", "憂", "鬱", "な", "午", "後"},
               {{220}, {29713, 224}, {32506, 109}, {3203}, {44237}, {5661}});
}

TEST(SplitWords, TimestampsAndSpecialsAreWords) {
  TOKENIZER_OR_SKIP(tok, "base");
  expect_split(*tok, {50364, 29713, 224, 32506, 109, 50414, 50257}, "ja",
               {"<|0.00|>", "憂", "鬱", "<|1.00|>", ""},
               {{50364}, {29713, 224}, {32506, 109}, {50414}, {50257}});
  expect_split(*tok, {50364, 2425, 11, 1002, 50414}, "en",
               {"<|0.00|>", " Hello", ",", " world", "<|1.00|>"},
               {{50364}, {2425}, {11}, {1002}, {50414}});
}

TEST(SplitWords, GenuineReplacementCharactersFollowFasterWhisper) {
  TOKENIZER_OR_SKIP(tok, "base");
  // A stray continuation byte decodes to U+FFFD in the full text too, so it is a word.
  expect_split(*tok, {224, 3203}, "ja", {kReplacement, "な"}, {{224}, {3203}});
  // An unfinished last character is kept when the full text ends with U+FFFD as well.
  expect_split(*tok, {3203, 29713}, "ja", {"な", kReplacement}, {{3203}, {29713}});
  expect_split(*tok, {2425, 224, 1002}, "en", {" Hello" + kReplacement, " world"},
               {{2425, 224}, {1002}});
  // "" (a special), '"' and '#' count as punctuation: Python's substring test.
  expect_split(*tok, {2425, 1002, 220, 1, 2, 3, 50257}, "en",
               {" Hello", " world", " ", "\"", "#", "$", ""},
               {{2425}, {1002}, {220}, {1}, {2}, {3}, {50257}});
}

TEST(SplitWords, EmptyInput) {
  TOKENIZER_OR_SKIP(tok, "base");
  const Tokenizer::WordTokens split = tok->split_to_word_tokens({}, "en");
  EXPECT_TRUE(split.words.empty());
  EXPECT_TRUE(split.tokens.empty());
}

}  // namespace
}  // namespace voiceman::tokenizer
