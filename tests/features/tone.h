#pragma once
// A pure 16 kHz tone for the feature front-end tests.
#include <cmath>
#include <vector>

namespace voiceman::features::testing {

inline std::vector<float> tone(double hz, float amplitude, int samples) {
  std::vector<float> x(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i)
    x[i] = amplitude * static_cast<float>(std::sin(2 * M_PI * hz * i / 16000));
  return x;
}

}  // namespace voiceman::features::testing
