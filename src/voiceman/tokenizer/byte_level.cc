#include "voiceman/tokenizer/byte_level.h"

#include <cstdint>

#include "voiceman/tokenizer/unicode.h"

namespace voiceman::tokenizer::byte_level {
namespace {

// Printable Latin-1 bytes stand for themselves; the other 68 are moved, in order,
// to U+0100 and up so no token contains whitespace or control characters.
std::array<char32_t, 256> make_byte_chars() {
  std::array<char32_t, 256> chars{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    chars[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return chars;
}

constexpr char32_t kSymbolLimit = 256 + 68;  // one past the highest stand-in character

// stand-in character -> byte, -1 for characters outside the alphabet.
const std::array<int16_t, kSymbolLimit>& char_to_byte() {
  static const std::array<int16_t, kSymbolLimit> map = [] {
    std::array<int16_t, kSymbolLimit> m;
    m.fill(-1);
    const auto chars = make_byte_chars();
    for (int b = 0; b < 256; ++b) m[chars[b]] = static_cast<int16_t>(b);
    return m;
  }();
  return map;
}

struct Char {
  char32_t cp;
  unicode::CharClass cls;
  std::size_t offset;  // byte offset in the text
};

}  // namespace

const std::array<std::string, 256>& byte_to_symbol() {
  static const std::array<std::string, 256> symbols = [] {
    std::array<std::string, 256> s;
    const auto chars = make_byte_chars();
    for (int b = 0; b < 256; ++b) unicode::append_utf8(chars[b], &s[b]);
    return s;
  }();
  return symbols;
}

std::string symbols_to_bytes(std::string_view token) {
  const auto& map = char_to_byte();
  std::string bytes;
  bytes.reserve(token.size());
  for (std::size_t pos = 0; pos < token.size();) {
    char32_t c;
    pos += unicode::next_code_point(token, pos, &c);
    if (c >= kSymbolLimit || map[c] < 0) return std::string(token);
    bytes.push_back(static_cast<char>(map[c]));
  }
  return bytes;
}

void pre_tokenize(std::string_view text, std::vector<std::string_view>* pieces) {
  std::vector<Char> chars;
  chars.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    char32_t c;
    const std::size_t len = unicode::next_code_point(text, pos, &c);
    // An invalid byte decodes as U+FFFD, which is 'other' like any symbol.
    chars.push_back({c, unicode::classify(c), pos});
    pos += len;
  }
  const std::size_t n = chars.size();
  auto offset = [&](std::size_t i) { return i < n ? chars[i].offset : text.size(); };
  auto run_end = [&](std::size_t i, unicode::CharClass cls) {
    while (i < n && chars[i].cls == cls) ++i;
    return i;
  };

  std::size_t i = 0;
  while (i < n) {
    std::size_t end = i + 1;
    const Char& c = chars[i];
    const bool space_prefix = c.cp == U' ' && i + 1 < n && chars[i + 1].cls != unicode::W;
    if (c.cp == U'\'' && i + 1 < n) {
      // Contractions are case-sensitive and win over the punctuation alternative.
      const char32_t a = chars[i + 1].cp;
      const char32_t b = i + 2 < n ? chars[i + 2].cp : 0;
      if (a == U's' || a == U't' || a == U'm' || a == U'd') {
        end = i + 2;
      } else if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) {
        end = i + 3;
      } else {
        end = run_end(i, unicode::O);
      }
    } else if (space_prefix) {
      // " ?X+" where X is the class of the character after the space.
      end = run_end(i + 1, chars[i + 1].cls);
    } else if (c.cls != unicode::W) {
      end = run_end(i, c.cls);
    } else {
      // \s+(?!\S) leaves the last space of a run for the next word; a lone one is \s+.
      const std::size_t stop = run_end(i, unicode::W);
      end = (stop == n || stop - i == 1) ? stop : stop - 1;
    }
    pieces->push_back(text.substr(offset(i), offset(end) - offset(i)));
    i = end;
  }
}

}  // namespace voiceman::tokenizer::byte_level
