#pragma once
// Python string semantics the faster-whisper rules rely on, on UTF-8 text.
#include <string_view>

namespace voiceman::decoding {

// True for the code points Python's str.isspace() accepts.
bool is_python_space(char32_t c);

// Python's str.strip(): removes leading and trailing whitespace code points.
std::string_view python_strip(std::string_view text);

// Python's `needle in haystack` on str (substring; the empty string is in everything).
// Byte search is exact for valid UTF-8, which is self-synchronizing.
inline bool python_in(std::string_view needle, std::string_view haystack) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace voiceman::decoding
