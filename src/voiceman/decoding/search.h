#pragma once
// Batched Whisper decoding through one StepModel, with CTranslate2 4.x generate() semantics:
// greedy (beam_size 1), beam search (beam_size > 1, patience, length penalty) and random
// sampling (temperature > 0: num_hypotheses independent rows per request, best score first).
//
// Prompts follow CTranslate2's split: the "task prompt" runs through <|startoftranscript|>
// and the special tokens right after it (language, task, <|notimestamps|>); whatever follows
// is a prefix that is forced into the output (and returned in it, like CTranslate2). Each
// request may generate at most min(max_length / 2, max_length - task_prompt_length + 1)
// tokens, <|endoftext|> and the prefix included.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "voiceman/decoding/options.h"
#include "voiceman/decoding/special_tokens.h"
#include "voiceman/decoding/step_model.h"

namespace voiceman::decoding {

struct SearchRequest {
  // [<|startofprev|> ...] <|sot|> [lang] [task] [<|notimestamps|>] [prefix ...]
  std::vector<int32_t> prompt;
  int32_t source = 0;      // encoder window this request attends to
  int32_t sot_index = -1;  // >= 0: position of <|startoftranscript|>, for no_speech_prob
  uint64_t seed = 0;       // this request's sampling stream (mixed with options.seed), so
                           // samples do not depend on the other requests in the batch
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // prefix + generated tokens; no prompt, no <|endoftext|>
  float score = 0;              // cum_logprob / tokens.size()^length_penalty
  float cum_logprob = 0;        // sum of the chosen tokens' log-probs, <|endoftext|> included;
                                // forced prefix tokens add 0
};

struct SearchResult {
  std::vector<Hypothesis> hypotheses;  // best first
  float no_speech_prob = 0;            // softmax(logits at sot_index)[no_speech]; 0 if no sot_index
};

// Decodes every request; results are in request order. Throws ConfigError for invalid
// options and Error for a prompt without <|startoftranscript|> or too long for max_length.
std::vector<SearchResult> search(StepModel& model, const std::vector<SearchRequest>& requests,
                                 const SearchOptions& options, const SpecialTokens& specials);

// Length of the task prompt: up to and including the run of special tokens
// (<|startoftranscript|> .. <|notimestamps|>) that starts at <|startoftranscript|>.
size_t task_prompt_length(std::span<const int32_t> prompt, const SpecialTokens& specials);

// Most tokens one request may produce (CTranslate2 Whisper's max_length for the decode loop).
int max_decoding_steps(int max_length, size_t task_prompt_length);

// softmax(logits)[id], computed stably in double.
float token_probability(std::span<const float> logits, int32_t id);

}  // namespace voiceman::decoding
