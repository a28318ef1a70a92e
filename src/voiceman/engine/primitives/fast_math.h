#pragma once
// Branch-free float exp and erf that the compiler can vectorise (libm's scalar calls
// dominated the encoder's softmax and GELU). Accuracy: exp within 2 ulp over the normal
// range, erf within 1.5e-7 absolute; both far below the engine's 1e-3 parity tolerance.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace voiceman::primitives {

inline float fast_exp(float x) {
  // exp(x) = 2^n * exp(r), r = x - n ln2, |r| <= ln2/2; exp(r) by a degree-6 polynomial.
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);  // plain selects vectorise; fminf does not
  const float n = std::floor(std::fma(x, 1.44269504088896341f, 0.5f));
  const float r = std::fma(n, -0.693145751953125f, std::fma(n, -1.428606765330187045e-06f, x));
  float p = 1.3981999507e-3f;
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r) + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float fast_erf(float x) {
  // Abramowitz & Stegun 7.1.26 refined: erf(|x|) = 1 - poly(t) exp(-x^2), t = 1/(1+p|x|).
  const float ax = std::fabs(x);
  const float t = 1.f / std::fma(0.3275911f, ax, 1.f);
  float y = 1.061405429f;
  y = std::fma(y, t, -1.453152027f);
  y = std::fma(y, t, 1.421413741f);
  y = std::fma(y, t, -0.284496736f);
  y = std::fma(y, t, 0.254829592f);
  const float e = 1.f - y * t * fast_exp(-ax * ax);
  return std::copysign(e, x);
}

// In-place softmax of n scores; inlined into each ISA clone of its callers.
[[gnu::always_inline]] inline void softmax_inplace(float* row, int64_t n) {
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    row[j] = fast_exp(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
}

}  // namespace voiceman::primitives
