#pragma once
// Prompt construction and token sets, as faster-whisper's get_prompt and
// get_suppressed_tokens build them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::asr {

// <|startoftranscript|> [<|lang|> <|task|>] (the bracket only for multilingual models).
std::vector<int32_t> sot_sequence(const tokenizer::Tokenizer& tok, const std::string& language,
                                  const std::string& task);

struct PromptInputs {
  std::vector<int32_t> previous_tokens;  // conditioning text (already sliced by the caller)
  bool without_timestamps = false;
  std::optional<std::string> prefix;  // only for the first window
  std::optional<std::string> hotwords;
};

// [<|startofprev|> hotwords previous] sot_sequence [<|notimestamps|>] [<|0.00|> prefix].
std::vector<int32_t> build_prompt(const tokenizer::Tokenizer& tok,
                                  const std::vector<int32_t>& sot_seq, const PromptInputs& in,
                                  int max_length);

// {-1} expands to the model's non-speech symbols (config.json suppress_ids); the task,
// SOT, SOT-prev, SOT-LM and no-speech tokens are always added. Sorted, unique.
std::vector<int32_t> suppressed_tokens(const std::vector<int>& requested,
                                       const decoding::SpecialTokens& specials);

}  // namespace voiceman::asr
