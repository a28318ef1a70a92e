#pragma once
// Dynamic time warping as openai-whisper's dtw_cpu and CTranslate2's negative_dtw: cost
// accumulated column by column; on ties the diagonal loses to "up" which loses to "left"
// (strict comparisons, "left" as the fallback); the path is traced back from the corner.
#include <cstdint>
#include <span>
#include <vector>

namespace voiceman::decoding {

struct DtwPath {
  std::vector<int32_t> text_indices;  // row of each path step
  std::vector<int32_t> time_indices;  // column of each path step
};

// Minimum-cost monotonic path through cost[rows x cols] (row-major) from (0,0) to the corner.
DtwPath dtw(std::span<const float> cost, int rows, int cols);

// CTranslate2's negative_dtw: dtw() on the negated matrix (maximizes the summed weights).
DtwPath negative_dtw(std::span<const float> weights, int rows, int cols);

}  // namespace voiceman::decoding
