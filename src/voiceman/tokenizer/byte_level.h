#pragma once
// GPT-2's byte-level alphabet and pre-tokenizer: every byte gets a printable stand-in
// character, and text is cut into word-like pieces before BPE.
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace voiceman::tokenizer::byte_level {

// byte -> its stand-in character (UTF-8 encoded).
const std::array<std::string, 256>& byte_to_symbol();

// A vocab token spelled in stand-in characters -> the raw bytes it represents. A token with
// a character outside the alphabet is kept as its own UTF-8 (what HF's decoder does).
std::string symbols_to_bytes(std::string_view token);

// Splits text like the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Pieces are views into text and cover it exactly. Invalid UTF-8 bytes count as symbols.
void pre_tokenize(std::string_view text, std::vector<std::string_view>* pieces);

}  // namespace voiceman::tokenizer::byte_level
