#pragma once
// Whisper's byte-level BPE tokenizer, loaded from a faster-whisper model folder's
// tokenizer.json. Encoding matches HF `tokenizers`; decoding and word splitting match
// faster-whisper's Tokenizer wrapper.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "voiceman/decoding/special_tokens.h"

namespace voiceman::tokenizer {

class Tokenizer {
 public:
  // Reads model_dir/tokenizer.json; throws ModelError naming the file if it is missing,
  // malformed, not a byte-level BPE or lacks a Whisper special token.
  static Tokenizer load(const std::filesystem::path& model_dir);

  // HF encode(text, add_special_tokens=False): no SOT/EOT template is added, but a literal
  // added-token text such as "<|endoftext|>" in the input becomes that token, as in HF.
  std::vector<int32_t> encode(std::string_view text) const;
  // Text tokens only (ids < eot), all bytes joined before UTF-8 decoding so characters
  // spanning tokens come out whole; invalid leftovers become U+FFFD.
  std::string decode(std::span<const int32_t> ids) const;
  // Like decode, but special tokens keep their "<|...|>" text and timestamp ids are
  // written "<|1.24|>" (as faster-whisper's decode_with_timestamps).
  std::string decode_with_specials(std::span<const int32_t> ids) const;

  // A vocab or added token, e.g. "<|ko|>" or "Ġhello".
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The raw token string (byte-level spelling); timestamp ids, which tokenizer.json does not
  // list, are spelled "<|0.00|>"...; "" for an id that is neither.
  std::string id_to_token(int32_t id) const;
  // Ids described by tokenizer.json: vocab plus added tokens (50363 for .en, 50364 for
  // multilingual). The model's output layer is larger: it also has the 1501 timestamps.
  int32_t vocab_size() const;
  // As Whisper and CTranslate2 decide: the full vocabulary (with timestamps) has >= 51865
  // entries. English-only tokenizer.json files list the language tokens too, so their
  // presence does not count.
  bool multilingual() const;

  // Ids resolved by name; lang_ids only for multilingual models; suppress_ids* left empty
  // (they come from config.json).
  decoding::SpecialTokens special_tokens() const;
  // "ko" -> id of <|ko|>. nullopt for unknown codes and on English-only models.
  std::optional<int32_t> language_token(std::string_view code) const;
  // Language codes in token order ("en", "zh", "de", ...); empty on English-only models.
  std::vector<std::string> language_codes() const;

  // faster-whisper's Tokenizer.split_to_word_tokens: for zh/ja/th/lo/my/yue a word ends
  // wherever the tokens so far decode to complete characters; other languages also join
  // subwords that do not start with a space and are not punctuation.
  struct WordTokens {
    std::vector<std::string> words;
    std::vector<std::vector<int32_t>> tokens;
  };
  WordTokens split_to_word_tokens(std::span<const int32_t> tokens, std::string_view language) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;  // shared: copies are cheap and share the BPE cache
};

}  // namespace voiceman::tokenizer
