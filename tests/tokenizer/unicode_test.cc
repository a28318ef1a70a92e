// Character classes, lossy UTF-8 decoding and the GPT-2 pre-tokenizer; no model needed.
#include "voiceman/tokenizer/unicode.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "voiceman/tokenizer/byte_level.h"

namespace voiceman::tokenizer {
namespace {

using unicode::classify;

TEST(Unicode, ClassifiesScriptsTheRegexCaresAbout) {
  EXPECT_EQ(classify(U'a'), unicode::L);
  EXPECT_EQ(classify(U'Z'), unicode::L);
  EXPECT_EQ(classify(U'é'), unicode::L);
  EXPECT_EQ(classify(U'ß'), unicode::L);
  EXPECT_EQ(classify(U'Ж'), unicode::L);
  EXPECT_EQ(classify(U'가'), unicode::L);      // first Hangul syllable
  EXPECT_EQ(classify(U'힣'), unicode::L);      // last Hangul syllable
  EXPECT_EQ(classify(U'\u1100'), unicode::L);  // Hangul choseong kiyeok
  EXPECT_EQ(classify(U'\u11A8'), unicode::L);  // Hangul jongseong
  EXPECT_EQ(classify(U'ㄱ'), unicode::L);      // compatibility jamo
  EXPECT_EQ(classify(U'一'), unicode::L);
  EXPECT_EQ(classify(U'\U00020000'), unicode::L);  // CJK extension B
  EXPECT_EQ(classify(U'あ'), unicode::L);
  EXPECT_EQ(classify(U'ー'), unicode::L);  // katakana prolonged sound mark is Lm
  EXPECT_EQ(classify(U'7'), unicode::N);
  EXPECT_EQ(classify(U'²'), unicode::N);
  EXPECT_EQ(classify(U'٣'), unicode::N);
  EXPECT_EQ(classify(U'Ⅻ'), unicode::N);
  EXPECT_EQ(classify(U' '), unicode::W);
  EXPECT_EQ(classify(U'\n'), unicode::W);
  EXPECT_EQ(classify(U'\u3000'), unicode::W);
  EXPECT_EQ(classify(U'\u00A0'), unicode::W);
  EXPECT_EQ(classify(U'\x1C'), unicode::O);  // not \s for the regex engine
  EXPECT_EQ(classify(U'\u200B'), unicode::O);
  EXPECT_EQ(classify(U'\u0301'), unicode::O);  // combining marks are not letters
  EXPECT_EQ(classify(U','), unicode::O);
  EXPECT_EQ(classify(U'。'), unicode::O);
  EXPECT_EQ(classify(U'😀'), unicode::O);
  EXPECT_EQ(classify(U'\U0010FFFF'), unicode::O);
}

TEST(Unicode, PythonSpaceAddsInformationSeparators) {
  EXPECT_TRUE(unicode::is_python_space(U'\x1F'));
  EXPECT_TRUE(unicode::is_python_space(U'\u2029'));
  EXPECT_FALSE(unicode::is_python_space(U'\u200B'));
  EXPECT_FALSE(unicode::is_python_space(U'x'));
}

TEST(Unicode, LossyDecodeReplacesMaximalSubparts) {
  EXPECT_EQ(unicode::decode_lossy("a\xED\x95\x9C"), U"a한");
  // Two bytes of a three-byte character: one U+FFFD, as Python and Rust do.
  EXPECT_EQ(unicode::decode_lossy("\xED\x95"), U"\uFFFD");
  EXPECT_EQ(unicode::decode_lossy("\xED\x95x"), U"\uFFFDx");
  // Lone continuation bytes, bytes that never occur, surrogates and overlongs.
  EXPECT_EQ(unicode::decode_lossy("\x80\x80"), U"\uFFFD\uFFFD");
  EXPECT_EQ(unicode::decode_lossy("\xFF"), U"\uFFFD");
  EXPECT_EQ(unicode::decode_lossy("\xED\xA0\x80"), U"\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(unicode::decode_lossy("\xC0\xAF"), U"\uFFFD\uFFFD");
  EXPECT_EQ(unicode::decode_lossy("\xF0\x9F\x98"), U"\uFFFD");
  EXPECT_EQ(unicode::decode_lossy("\xF0\x9F\x98\x80"), U"😀");
  EXPECT_EQ(unicode::to_utf8(U"안녕 😀"), "안녕 😀");
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string_view> views;
  byte_level::pre_tokenize(text, &views);
  return {views.begin(), views.end()};
}

using Pieces = std::vector<std::string>;

TEST(PreTokenize, FollowsTheGpt2Regex) {
  EXPECT_EQ(split("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("don't I'LL we've"), (Pieces{"don", "'t", " I", "'", "LL", " we", "'ve"}));
  EXPECT_EQ(split("a  \n\n b"), (Pieces{"a", "  \n\n", " b"}));
  EXPECT_EQ(split("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split("x   "), (Pieces{"x", "   "}));
  EXPECT_EQ(split("12abc 3.5!?"), (Pieces{"12", "abc", " 3", ".", "5", "!?"}));
  EXPECT_EQ(split(" !'s"), (Pieces{" !'", "s"}));
  EXPECT_EQ(split("안녕하세요, 오늘"), (Pieces{"안녕하세요", ",", " 오늘"}));
  EXPECT_EQ(split("e\u0301t"), (Pieces{"e", "\u0301", "t"}));
  EXPECT_EQ(split("x\u3000y"), (Pieces{"x", "\u3000", "y"}));
  EXPECT_TRUE(split("").empty());
}

TEST(PreTokenize, InvalidBytesStayInPieces) {
  const std::string text = "ab\xFF\xFE cd";
  EXPECT_EQ(split(text), (Pieces{"ab", "\xFF\xFE", " cd"}));
}

TEST(ByteLevel, AlphabetRoundTrips) {
  const auto& symbols = byte_level::byte_to_symbol();
  EXPECT_EQ(symbols[' '], "Ġ");
  EXPECT_EQ(symbols['\n'], "Ċ");
  EXPECT_EQ(symbols['a'], "a");
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(byte_level::symbols_to_bytes(symbols[b]), std::string(1, static_cast<char>(b)));
  }
  EXPECT_EQ(byte_level::symbols_to_bytes("ĠìķĪ"), " \xEC\x95\x88");
  // A character outside the alphabet keeps the token as written.
  EXPECT_EQ(byte_level::symbols_to_bytes("<|ko|>"), "<|ko|>");
  EXPECT_EQ(byte_level::symbols_to_bytes("가"), "가");
}

}  // namespace
}  // namespace voiceman::tokenizer
