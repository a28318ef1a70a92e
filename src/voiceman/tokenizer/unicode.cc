#include "voiceman/tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace voiceman::tokenizer::unicode {
namespace {

// ASCII is by far the most common input; skip the binary search for it.
const std::array<CharClass, 128> kAsciiClasses = [] {
  std::array<CharClass, 128> classes{};
  for (char32_t c = 0; c < 128; ++c) {
    const CharRange* end = kCharRanges + kCharRangeCount;
    const CharRange* it = std::upper_bound(kCharRanges, end, c,
                                           [](char32_t v, const CharRange& r) { return v < r.lo; });
    classes[c] = (it != kCharRanges && c <= (it - 1)->hi) ? (it - 1)->cls : O;
  }
  return classes;
}();

// Valid range of the second byte of a sequence, by lead byte (Unicode Table 3-7).
bool second_byte_ok(unsigned char lead, unsigned char b) {
  if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
  if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
  if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
  if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
  return b >= 0x80 && b <= 0xBF;
}

// Number of bytes of a well-formed sequence starting with lead, 0 if it cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Length of the valid prefix of the sequence at pos (== need when complete).
int valid_prefix(std::string_view text, std::size_t pos, int need) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  int have = 1;
  while (have < need && pos + have < text.size()) {
    const auto b = static_cast<unsigned char>(text[pos + have]);
    const bool ok = have == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
    ++have;
  }
  return have;
}

char32_t assemble(std::string_view text, std::size_t pos, int len) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  char32_t c = len == 1   ? lead
               : len == 2 ? (lead & 0x1F)
               : len == 3 ? (lead & 0x0F)
                          : (lead & 0x07);
  for (int i = 1; i < len; ++i) c = (c << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  return c;
}

}  // namespace

CharClass classify(char32_t c) {
  if (c < 128) return kAsciiClasses[c];
  const CharRange* end = kCharRanges + kCharRangeCount;
  const CharRange* it = std::upper_bound(kCharRanges, end, c,
                                         [](char32_t v, const CharRange& r) { return v < r.lo; });
  if (it == kCharRanges) return O;
  --it;
  return c <= it->hi ? it->cls : O;
}

std::size_t next_code_point(std::string_view text, std::size_t pos, char32_t* out) {
  const int need = sequence_length(static_cast<unsigned char>(text[pos]));
  if (need == 0 || valid_prefix(text, pos, need) != need) {
    *out = kReplacement;
    return 1;
  }
  *out = assemble(text, pos, need);
  return static_cast<std::size_t>(need);
}

std::u32string decode_lossy(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const int need = sequence_length(static_cast<unsigned char>(bytes[pos]));
    if (need == 0) {  // a byte that can never start a character
      out.push_back(kReplacement);
      ++pos;
      continue;
    }
    const int have = valid_prefix(bytes, pos, need);
    if (have == need) {
      out.push_back(assemble(bytes, pos, need));
    } else {
      // The maximal subpart is replaced once; the offending byte starts the next attempt.
      out.push_back(kReplacement);
    }
    pos += static_cast<std::size_t>(have);
  }
  return out;
}

void append_utf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(c, &out);
  return out;
}

bool is_python_space(char32_t c) {
  // \s of the regex plus the ASCII information separators, which Python also counts.
  return (c >= 0x1C && c <= 0x1F) || classify(c) == W;
}

}  // namespace voiceman::tokenizer::unicode
