#pragma once
// UTF-8 and character-class helpers for the byte-level BPE tokenizer. Internal to the
// tokenizer module; the class table is measured on HF tokenizers (see unicode_table.cc).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace voiceman::tokenizer::unicode {

// What the GPT-2 pre-tokenizer regex sees: \p{L}, \p{N}, \s, or anything else.
enum CharClass : uint8_t { O = 0, L = 1, N = 2, W = 3 };

struct CharRange {
  char32_t lo;
  char32_t hi;
  CharClass cls;
};
extern const CharRange kCharRanges[];
extern const std::size_t kCharRangeCount;

CharClass classify(char32_t c);

// Decodes the code point at text[pos] strictly. Returns its byte length; an invalid or
// truncated sequence yields U+FFFD with length 1 so callers always make progress.
std::size_t next_code_point(std::string_view text, std::size_t pos, char32_t* out);

// Bytes -> code points the way Rust's from_utf8_lossy and Python's errors="replace" do:
// every maximal invalid subpart becomes one U+FFFD. Whisper tokens often end mid-character.
std::u32string decode_lossy(std::string_view bytes);
void append_utf8(char32_t c, std::string* out);
std::string to_utf8(std::u32string_view text);

// Python's str.isspace (used by str.strip in faster-whisper's word splitting).
bool is_python_space(char32_t c);

constexpr char32_t kReplacement = 0xFFFD;

}  // namespace voiceman::tokenizer::unicode
