#include "voiceman/decoding/dtw.h"

#include <algorithm>
#include <limits>

#include "voiceman/core/errors.h"

namespace voiceman::decoding {

namespace {

DtwPath run_dtw(std::span<const float> x, int rows, int cols, bool negate) {
  if (rows < 0 || cols < 0 || x.size() != size_t(rows) * size_t(cols)) {
    throw Error("dtw: matrix size does not match its shape");
  }
  constexpr float inf = std::numeric_limits<float>::infinity();
  const size_t n = size_t(rows), m = size_t(cols), stride = m + 1;
  std::vector<float> cost((n + 1) * stride, inf);
  std::vector<int8_t> trace((n + 1) * stride, -1);
  cost[0] = 0;
  for (size_t j = 1; j <= m; ++j) {
    for (size_t i = 1; i <= n; ++i) {
      const float c0 = cost[(i - 1) * stride + (j - 1)];  // diagonal
      const float c1 = cost[(i - 1) * stride + j];        // from the row above
      const float c2 = cost[i * stride + (j - 1)];        // from the left
      float c;
      int8_t t;
      if (c0 < c1 && c0 < c2) {
        c = c0, t = 0;
      } else if (c1 < c0 && c1 < c2) {
        c = c1, t = 1;
      } else {
        c = c2, t = 2;
      }
      const float v = x[(i - 1) * m + (j - 1)];
      cost[i * stride + j] = (negate ? -v : v) + c;
      trace[i * stride + j] = t;
    }
  }

  // The borders lead back to the origin: left along row 0, up along column 0.
  for (size_t k = 0; k <= m; ++k) trace[k] = 2;
  for (size_t k = 0; k <= n; ++k) trace[k * stride] = 1;

  DtwPath path;
  size_t i = n, j = m;
  while (i > 0 || j > 0) {
    path.text_indices.push_back(int32_t(i) - 1);
    path.time_indices.push_back(int32_t(j) - 1);
    switch (trace[i * stride + j]) {
      case 0:
        --i, --j;
        break;
      case 1:
        --i;
        break;
      default:
        --j;
        break;
    }
  }
  std::reverse(path.text_indices.begin(), path.text_indices.end());
  std::reverse(path.time_indices.begin(), path.time_indices.end());
  return path;
}

}  // namespace

DtwPath dtw(std::span<const float> cost, int rows, int cols) {
  return run_dtw(cost, rows, cols, false);
}

DtwPath negative_dtw(std::span<const float> weights, int rows, int cols) {
  return run_dtw(weights, rows, cols, true);
}

}  // namespace voiceman::decoding
