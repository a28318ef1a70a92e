#pragma once
// Logits processors applied to one decoder row before a token is chosen, in the order and
// with the semantics of CTranslate2's decode(): repetition penalty, no-repeat n-gram,
// suppress tokens, suppress blank, then the Whisper timestamp rules.
//
// `generated` is everything the row produced after the task prompt, including forced prefix
// tokens; `sample_begin` is how many of those were forced (free generation starts there).
// The current step is generated.size().
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "voiceman/decoding/special_tokens.h"

namespace voiceman::decoding {

// CTranslate2 disables a token by writing the lowest float (not -inf) into its logit.
inline constexpr float kDisabledLogit = std::numeric_limits<float>::lowest();

// Disables every id in `ids`.
void suppress_tokens(std::span<float> logits, std::span<const int32_t> ids);

// Disables `blank_ids` (" " and <|endoftext|>) at the first free step only.
void suppress_blank(std::span<float> logits, std::span<const int32_t> blank_ids,
                    std::span<const int32_t> generated, size_t sample_begin);

// Each previously generated token's logit x becomes x * penalty if x < 0, else x / penalty.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> generated,
                              float penalty);

// Disables every token that would complete an n-gram already present in `generated`.
void apply_no_repeat_ngram(std::span<float> logits, std::span<const int32_t> generated,
                           int ngram_size);

struct TimestampRules {
  int32_t eot = 0;
  int32_t no_timestamps = 0;
  int32_t timestamp_begin = 0;        // <|0.00|>
  int32_t timestamp_end = 0;          // last timestamp id (vocab_size - 1)
  int32_t max_initial_timestamp = 0;  // timestamp_begin + max_initial_timestamp_index

  static TimestampRules make(const SpecialTokens& specials, int vocab_size,
                             int max_initial_timestamp_index);
};

// Whisper timestamp rules: <|notimestamps|> never; a timestamp first (not after
// max_initial_timestamp); timestamps in pairs except before <|endoftext|>; never decreasing;
// and text is disabled when the total timestamp probability beats every single text token.
void apply_timestamp_rules(std::span<float> logits, std::span<const int32_t> generated,
                           size_t sample_begin, const TimestampRules& rules);

// Everything that applies to a row, bundled in CTranslate2's order.
struct LogitsRules {
  float repetition_penalty = 1.0f;
  int no_repeat_ngram_size = 0;
  std::vector<int32_t> suppress_ids;
  std::vector<int32_t> suppress_begin_ids;  // empty when suppress_blank is off
  bool timestamps = false;
  TimestampRules timestamp_rules;
};

void apply_rules(const LogitsRules& rules, std::span<float> logits,
                 std::span<const int32_t> generated, size_t sample_begin);

// out = log_softmax(logits); out may alias logits.
void log_softmax(std::span<const float> logits, std::span<float> out);

}  // namespace voiceman::decoding
