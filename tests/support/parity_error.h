#pragma once
// How far a GPU result is from the CPU's, for the parity tests. A NaN or an infinity where
// the reference has none is as far as it gets: std::max(diff, NaN) would keep diff, and
// an output of NaNs would pass (tests/engine/parity_error_test.cc).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace voiceman::testing {

// max |got - want| over n values; infinity where one side is not finite and the other is
// not the same NaN or infinity.
inline double max_abs_difference(const float* got, const float* want, size_t n) {
  double diff = 0;
  for (size_t i = 0; i < n; ++i) {
    const float g = got[i], w = want[i];
    if (std::isfinite(g) && std::isfinite(w)) {
      diff = std::max(diff, std::fabs(static_cast<double>(g) - w));
      continue;
    }
    if ((std::isnan(g) && std::isnan(w)) || g == w) continue;
    return std::numeric_limits<double>::infinity();
  }
  return diff;
}

// max_abs_difference / the largest finite |want| (at least 1e-12).
inline double relative_error(const float* got, const float* want, size_t n) {
  double scale = 1e-12;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(want[i])) scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  return max_abs_difference(got, want, n) / scale;
}

}  // namespace voiceman::testing
