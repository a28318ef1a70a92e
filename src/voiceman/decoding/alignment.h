#pragma once
// Word alignment from cross-attention: CTranslate2's Whisper align() post-processing
// (normalize, median filter, average heads, DTW) and faster-whisper's find_alignment
// (token path -> word start/end times and probabilities).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "voiceman/decoding/dtw.h"

namespace voiceman::decoding {

inline constexpr int kMedianFilterWidth = 7;
inline constexpr double kTokensPerSecond = 50.0;  // 16000 / (160 hop * 2 stride)

struct WordTiming {
  std::string word;
  double start = 0;  // seconds
  double end = 0;    // seconds
  float probability = 0;
  std::vector<int32_t> tokens;
};

// Median over a sliding window of `width` along each row of data[rows x cols], reflecting at
// the edges (no edge repeat). Rows no longer than width / 2 are left as they are.
void median_filter(std::span<float> data, int rows, int cols, int width);

// weights: alignment heads' cross-attention [heads x tokens x frames], each row already a
// softmax over the window's frames (frames = content mel frames / 2). The token axis is the
// align() sequence: sot_sequence (sot_length tokens), <|notimestamps|>, text_length text
// tokens, <|endoftext|>. Returns the DTW path over the rows <|notimestamps|> .. last text
// token (text_length + 1 rows): text index k means "before text token k".
DtwPath attention_to_path(std::span<const float> weights, int heads, int tokens, int frames,
                          int sot_length, int text_length,
                          int median_filter_width = kMedianFilterWidth);

// faster-whisper find_alignment for one window. words/word_tokens: the tokenizer's
// split_to_word_tokens(text_tokens + [eot]) (the last word is <|endoftext|>);
// text_token_probs: one probability per text token. Times are relative to the window.
// Returns no words when the split has at most one word.
std::vector<WordTiming> find_alignment(const DtwPath& path, std::span<const float> text_token_probs,
                                       const std::vector<std::string>& words,
                                       const std::vector<std::vector<int32_t>>& word_tokens);

}  // namespace voiceman::decoding
