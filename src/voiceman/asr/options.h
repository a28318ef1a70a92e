#pragma once
// Transcription options: faster-whisper 1.2.1's WhisperModel.transcribe() arguments with
// the same defaults. Every field is honoured; validate() is the one place they are checked.
#include <optional>
#include <string>
#include <vector>

namespace voiceman::asr {

struct TranscribeOptions {
  std::optional<std::string> language;  // ISO code; unset = detect (English-only models: en)
  std::string task = "transcribe";      // or "translate" (multilingual models)
  int beam_size = 5;                    // beams at temperature 0 (1 = greedy)
  int best_of = 5;                      // samples per window at temperature > 0
  float patience = 1.0f;                // beam search patience factor
  float length_penalty = 1.0f;          // exponent of the length normalisation
  float repetition_penalty = 1.0f;      // > 1 penalises repeated tokens
  int no_repeat_ngram_size = 0;         // > 0 forbids repeating n-grams of this size
  std::vector<float> temperatures = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};  // fallback schedule
  std::optional<float> compression_ratio_threshold = 2.4f;  // above: too repetitive, fall back
  std::optional<float> log_prob_threshold = -1.0f;          // below: too unlikely, fall back
  std::optional<float> no_speech_threshold = 0.6f;          // above (and low logprob): silence
  bool condition_on_previous_text = true;     // feed the previous window's text as a prompt
  float prompt_reset_on_temperature = 0.5f;   // forget the prompt after a hotter fallback
  std::optional<std::string> initial_prompt;  // text that conditions the first window
  std::optional<std::string> prefix;          // text forced at the start of the first window
  std::optional<std::string> hotwords;        // hint phrases, used when no prefix is given
  bool suppress_blank = true;                 // no blank output at the first step
  std::vector<int> suppress_tokens = {-1};    // -1 = the model's non-speech symbols
  bool without_timestamps = false;            // decode text only, one segment per window
  float max_initial_timestamp = 1.0f;         // the first timestamp may not exceed this (s)
  bool word_timestamps = false;               // DTW word times over the alignment heads
  std::string prepend_punctuations = "\"'\u201c\u00bf([{-";  // merged into the next word
  std::string append_punctuations =
      "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001";  // into the previous
  std::optional<int> max_new_tokens;          // cap on generated tokens per window
  float language_detection_threshold = 0.5f;  // accept a detected language above this
  int language_detection_segments = 1;        // windows tried for language detection
  int batch_windows = 8;                      // windows encoded and decoded together
  unsigned seed = 0;                          // sampling seed (temperature fallback)
};

// Throws ConfigError naming the offending option.
void validate(const TranscribeOptions& options);

}  // namespace voiceman::asr
