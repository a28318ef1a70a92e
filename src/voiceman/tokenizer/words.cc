// Decoding with timestamps and the word splitting used for word-level timestamps. The
// rules follow faster-whisper's Tokenizer (split_tokens_on_unicode / _on_spaces) exactly,
// including its quirks, so word boundaries line up with the reference.
#include <array>
#include <cstdio>

#include "voiceman/tokenizer/tokenizer.h"
#include "voiceman/tokenizer/tokenizer_impl.h"
#include "voiceman/tokenizer/unicode.h"

namespace voiceman::tokenizer {
namespace {

using Impl = Tokenizer::Impl;

// Languages written without spaces between words.
constexpr std::array<std::string_view, 6> kUnspacedLanguages = {"zh", "ja", "th",
                                                                "lo", "my", "yue"};

// Python's string.punctuation.
constexpr std::string_view kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

std::u32string_view strip(std::u32string_view s) {
  while (!s.empty() && unicode::is_python_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && unicode::is_python_space(s.back())) s.remove_suffix(1);
  return s;
}

// faster-whisper tests `subword.strip() in string.punctuation`, a substring test: "",
// "." and "()" count as punctuation, "?!" does not.
bool is_punctuation(std::u32string_view subword) {
  const std::string stripped = unicode::to_utf8(strip(subword));
  return kPunctuation.find(stripped) != std::string_view::npos;
}

using Split = Tokenizer::WordTokens;

Split split_on_unicode(const Impl& impl, std::span<const int32_t> tokens) {
  const std::u32string full = impl.decode_with_timestamps(tokens);
  Split out;
  std::vector<int32_t> current;
  std::size_t offset = 0;  // code points of full consumed by the words so far
  for (int32_t token : tokens) {
    current.push_back(token);
    const std::u32string decoded = impl.decode_with_timestamps(current);
    const std::size_t bad = decoded.find(unicode::kReplacement);
    // A U+FFFD that the full text also has is genuine; one only here means a character
    // is still incomplete and the next token must join this word.
    const bool complete =
        bad == std::u32string::npos ||
        (bad + offset < full.size() && full[bad + offset] == unicode::kReplacement);
    if (!complete) continue;
    out.words.push_back(unicode::to_utf8(decoded));
    out.tokens.push_back(std::move(current));
    current.clear();
    offset += decoded.size();
  }
  return out;  // trailing tokens that never complete a character are dropped, as upstream
}

Split split_on_spaces(const Impl& impl, std::span<const int32_t> tokens) {
  Split subwords = split_on_unicode(impl, tokens);
  Split out;
  for (std::size_t i = 0; i < subwords.words.size(); ++i) {
    std::string& subword = subwords.words[i];
    std::vector<int32_t>& ids = subwords.tokens[i];
    const bool special = ids.front() >= impl.eot;
    const bool with_space = !subword.empty() && subword.front() == ' ';
    const bool punctuation = is_punctuation(unicode::decode_lossy(subword));
    if (special || with_space || punctuation || out.words.empty()) {
      out.words.push_back(std::move(subword));
      out.tokens.push_back(std::move(ids));
    } else {
      out.words.back() += subword;
      out.tokens.back().insert(out.tokens.back().end(), ids.begin(), ids.end());
    }
  }
  return out;
}

}  // namespace

std::string format_timestamp(int32_t index) {
  // Same rounding as Python's f"{index * 0.02:.2f}" (both round the double correctly).
  char text[32];
  std::snprintf(text, sizeof(text), "<|%.2f|>", index * 0.02);
  return text;
}

void Impl::append_special(int32_t id, std::string* out) const {
  if (id >= timestamp_begin) {
    *out += format_timestamp(id - timestamp_begin);
  } else if (id >= 0 && static_cast<std::size_t>(id) < bytes.size()) {
    *out += bytes[id];
  }
}

std::u32string Impl::decode_with_timestamps(std::span<const int32_t> ids) const {
  std::u32string out;
  std::string segment;
  for (int32_t id : ids) {
    if (id >= timestamp_begin) {
      out += unicode::decode_lossy(segment);
      segment.clear();
      const std::string stamp = format_timestamp(id - timestamp_begin);
      out.append(stamp.begin(), stamp.end());
    } else if (id >= 0 && id < eot) {
      segment += bytes[id];
    }
    // Other specials are skipped, like HF decode's skip_special_tokens.
  }
  out += unicode::decode_lossy(segment);
  return out;
}

Tokenizer::WordTokens Tokenizer::split_to_word_tokens(std::span<const int32_t> tokens,
                                                      std::string_view language) const {
  for (std::string_view unspaced : kUnspacedLanguages) {
    if (language == unspaced) return split_on_unicode(*impl_, tokens);
  }
  return split_on_spaces(*impl_, tokens);
}

}  // namespace voiceman::tokenizer
