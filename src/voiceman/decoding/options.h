#pragma once
// Options of one search() call. They mirror the CTranslate2 Whisper generate() arguments that
// faster-whisper 1.2.1 passes, with the same defaults.
#include <cstdint>
#include <vector>

namespace voiceman::decoding {

struct SearchOptions {
  int beam_size = 5;                // beams per request when temperature == 0 (1 = greedy)
  float patience = 1.0f;            // beam search ends after round(beam_size * patience) hypotheses
  float length_penalty = 1.0f;      // score = cum_logprob / length^length_penalty (0: early exit)
  float repetition_penalty = 1.0f;  // > 1 penalizes the logits of already generated tokens
  int no_repeat_ngram_size = 0;     // > 0 forbids generating an n-gram of this size twice
  // Decoder length budget: a request makes at most
  // min(max_length / 2, max_length - task_prompt_length + 1) steps (see search.h).
  int max_length = 448;
  float temperature = 0.0f;    // > 0: random sampling from softmax(logprobs / T), beam 1
  int num_hypotheses = 5;      // independent samples per request when temperature > 0 (best_of)
  bool suppress_blank = true;  // suppress SpecialTokens::suppress_ids_begin at the first free step
  std::vector<int32_t> suppress_tokens;  // ids suppressed at every step (-1 already expanded)
  bool without_timestamps = false;       // true: no timestamp rules (prompt has <|notimestamps|>)
  int max_initial_timestamp_index = 50;  // first timestamp at most <|0.00|> + this index
  uint64_t seed = 0;                     // base seed of the sampling RNG (mixed per request/row)
  // CPU threads that score the rows of a step (rules, log-softmax, top-k) between model
  // steps. Not a CTranslate2 option; results do not depend on it.
  int threads = 1;
};

// Throws ConfigError naming the first invalid field.
void validate(const SearchOptions& options);

}  // namespace voiceman::decoding
