#pragma once
// int8 re-quantisation of a CTranslate2 Whisper folder, written by our own writer: the
// linear weights and the token embeddings become int8 with one float32 scale per row
// (CTranslate2's "int8" layout, the scheme our int8 compute type applies at load time).
// tiny.en shrinks from 76 MB to about 40 MB, small enough to carry to a lent GPU.
#include <cstddef>
#include <filesystem>

namespace voiceman::models {

struct RequantizeReport {
  int quantized = 0;  // variables stored as int8 + scale
  int copied = 0;     // variables copied byte for byte
  size_t bytes_in = 0;
  size_t bytes_out = 0;  // model.bin sizes
};

// Reads `from`/model.bin, writes `to`/model.bin and copies the folder's other regular,
// non-hidden files (config.json, tokenizer.json, ...). `to` is created; it must not be
// `from`. Throws ModelError (bad model) or ConfigError (bad folders).
RequantizeReport requantize_int8(const std::filesystem::path& from,
                                 const std::filesystem::path& to);

}  // namespace voiceman::models
