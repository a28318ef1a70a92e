#include "voiceman/decoding/alignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "voiceman/core/errors.h"

namespace voiceman::decoding {

void median_filter(std::span<float> data, int rows, int cols, int width) {
  if (width < 1 || width % 2 == 0) throw Error("median_filter: width must be odd and >= 1");
  if (data.size() != size_t(rows) * size_t(cols)) throw Error("median_filter: size mismatch");
  const int rank = width / 2;
  if (cols <= rank || width == 1) return;  // too short to reflect: CTranslate2 passes through
  std::vector<float> in(static_cast<size_t>(cols));
  std::vector<float> window(static_cast<size_t>(width));
  for (int r = 0; r < rows; ++r) {
    float* row = data.data() + size_t(r) * size_t(cols);
    std::copy(row, row + cols, in.begin());
    for (int j = 0; j < cols; ++j) {
      for (int k = -rank; k <= rank; ++k) {
        int read = std::abs(j + k);
        if (read >= cols) read = 2 * cols - read - 2;  // reflect without repeating the edge
        window[size_t(k + rank)] = in[size_t(read)];
      }
      std::nth_element(window.begin(), window.begin() + rank, window.end());
      row[j] = window[size_t(rank)];
    }
  }
}

DtwPath attention_to_path(std::span<const float> weights, int heads, int tokens, int frames,
                          int sot_length, int text_length, int median_filter_width) {
  if (heads < 1 || tokens < 1 || frames < 0 ||
      weights.size() != size_t(heads) * size_t(tokens) * size_t(frames)) {
    throw Error("attention_to_path: weights do not match [heads x tokens x frames]");
  }
  if (sot_length < 0 || text_length < 0 || sot_length + text_length + 1 > tokens) {
    throw Error("attention_to_path: sequence layout does not fit the token axis");
  }
  if (frames == 0) return {};  // nothing to align against (CTranslate2 returns no pairs)
  std::vector<float> w(weights.begin(), weights.end());
  const size_t plane = size_t(tokens) * size_t(frames);

  // Standardize each frame column over the token axis (CTranslate2 LayerNorm(-2, eps 0)).
  for (int h = 0; h < heads; ++h) {
    float* x = w.data() + size_t(h) * plane;
    for (int f = 0; f < frames; ++f) {
      float sum = 0, sum_squares = 0;
      for (int t = 0; t < tokens; ++t) {
        const float v = x[size_t(t) * size_t(frames) + size_t(f)];
        sum += v;
        sum_squares += v * v;
      }
      const float mean = sum / float(tokens);
      const float variance = std::max(sum_squares / float(tokens) - mean * mean, 0.0f);
      const float rstd = 1.0f / std::sqrt(variance);
      for (int t = 0; t < tokens; ++t) {
        float& v = x[size_t(t) * size_t(frames) + size_t(f)];
        v = (v - mean) * rstd;
      }
    }
  }

  median_filter(w, heads * tokens, frames, median_filter_width);

  // Average the heads over the rows <|notimestamps|> .. last text token, then DTW.
  const int rows = text_length + 1;
  std::vector<float> matrix(size_t(rows) * size_t(frames));
  for (int r = 0; r < rows; ++r) {
    for (int f = 0; f < frames; ++f) {
      float sum = 0;
      for (int h = 0; h < heads; ++h) {
        sum += w[size_t(h) * plane + size_t(sot_length + r) * size_t(frames) + size_t(f)];
      }
      matrix[size_t(r) * size_t(frames) + size_t(f)] = sum / float(heads);
    }
  }
  return negative_dtw(matrix, rows, frames);
}

std::vector<WordTiming> find_alignment(const DtwPath& path, std::span<const float> text_token_probs,
                                       const std::vector<std::string>& words,
                                       const std::vector<std::vector<int32_t>>& word_tokens) {
  std::vector<WordTiming> out;
  if (word_tokens.size() <= 1) return out;  // only <|endoftext|>

  // Token index where each word starts; the last entry is where <|endoftext|> starts.
  std::vector<size_t> boundaries(word_tokens.size(), 0);
  for (size_t w = 1; w < word_tokens.size(); ++w) {
    boundaries[w] = boundaries[w - 1] + word_tokens[w - 1].size();
  }

  // Time of the first path step on each text row.
  std::vector<double> jump_times;
  for (size_t k = 0; k < path.text_indices.size(); ++k) {
    if (k == 0 || path.text_indices[k] != path.text_indices[k - 1]) {
      jump_times.push_back(double(path.time_indices[k]) / kTokensPerSecond);
    }
  }
  if (boundaries.back() >= jump_times.size()) {
    throw Error("find_alignment: the word split has more tokens than the alignment path");
  }

  const size_t count = std::min(words.size(), word_tokens.size() - 1);
  out.reserve(count);
  for (size_t w = 0; w < count; ++w) {
    WordTiming timing;
    timing.word = words[w];
    timing.tokens = word_tokens[w];
    timing.start = jump_times[boundaries[w]];
    timing.end = jump_times[boundaries[w + 1]];
    // numpy mean of the word's token probabilities (NaN for an empty slice).
    const size_t begin = std::min(boundaries[w], text_token_probs.size());
    const size_t end = std::min(boundaries[w + 1], text_token_probs.size());
    double sum = 0;
    for (size_t i = begin; i < end; ++i) sum += text_token_probs[i];
    timing.probability =
        end > begin ? float(sum / double(end - begin)) : std::numeric_limits<float>::quiet_NaN();
    out.push_back(std::move(timing));
  }
  return out;
}

}  // namespace voiceman::decoding
