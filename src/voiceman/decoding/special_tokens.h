#pragma once
// Token ids that the decoding rules depend on. Filled from the tokenizer and config.json.
#include <cstdint>
#include <vector>

namespace voiceman::decoding {

struct SpecialTokens {
  int32_t eot = 50256;              // <|endoftext|>
  int32_t sot = 50257;              // <|startoftranscript|>
  int32_t sot_prev = 50360;         // <|startofprev|>
  int32_t sot_lm = 50359;           // <|startoflm|>
  int32_t no_speech = 50361;        // <|nospeech|> (a.k.a. <|nocaptions|>)
  int32_t no_timestamps = 50362;    // <|notimestamps|>
  int32_t timestamp_begin = 50363;  // <|0.00|>; timestamps step by 0.02 s
  int32_t transcribe = 50358;
  int32_t translate = 50357;
  std::vector<int32_t> lang_ids;            // <|en|>, <|zh|>, ... (empty for English-only models)
  std::vector<int32_t> suppress_ids;        // config.json suppress_ids (the "-1" set)
  std::vector<int32_t> suppress_ids_begin;  // config.json suppress_ids_begin
};

}  // namespace voiceman::decoding
