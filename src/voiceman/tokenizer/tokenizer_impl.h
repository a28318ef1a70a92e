#pragma once
// State behind Tokenizer, shared by the files of this module. Not part of the API.
#include <array>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::tokenizer {

// Lets the token map be searched with a string_view without building a std::string.
struct TokenHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Tokenizer::Impl {
  struct Merge {
    int32_t rank;
    int32_t id;  // the merged token
  };
  struct Added {
    std::string content;
    int32_t id;
  };

  std::filesystem::path file;
  std::vector<std::string> tokens;  // id -> token as spelled in tokenizer.json
  std::vector<std::string> bytes;   // id -> raw bytes the token stands for
  std::unordered_map<std::string, int32_t, TokenHash, std::equal_to<>> ids;  // vocab + added
  std::array<int32_t, 256> byte_ids{};                                       // single-byte tokens
  std::unordered_map<uint64_t, Merge> merges;  // (left id << 32 | right id) -> merge
  bool ignore_merges = false;
  std::vector<Added> added;  // longest first, for splitting them out of text
  std::array<bool, 256> added_first_byte{};

  int32_t eot = -1, sot = -1, translate = -1, transcribe = -1, sot_lm = -1, sot_prev = -1;
  int32_t no_speech = -1, no_timestamps = -1, timestamp_begin = -1;
  bool timestamps_listed = false;  // tokenizer.json has <|0.00|> itself
  bool multilingual = false;
  std::vector<int32_t> lang_ids;
  std::vector<std::string> lang_codes;

  // Pieces already run through BPE; guarded because encode() is const and may be shared.
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>, TokenHash, std::equal_to<>> cache;

  static constexpr int32_t kTimestampCount = 1501;  // <|0.00|> ... <|30.00|>

  std::optional<int32_t> find(std::string_view token) const;
  void set_token(int32_t id, std::string token);
  void bpe(std::string_view piece, std::vector<int32_t>* out) const;
  void merge_symbols(std::vector<int32_t>* symbols) const;
  // Text of one token for decode_with_specials; appends raw bytes to *out.
  void append_special(int32_t id, std::string* out) const;
  // faster-whisper's decode_with_timestamps as code points (specials dropped).
  std::u32string decode_with_timestamps(std::span<const int32_t> ids) const;
};

std::string format_timestamp(int32_t index);  // "<|0.02|>" for index 1

}  // namespace voiceman::tokenizer
