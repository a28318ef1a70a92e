#pragma once
// Vectorizable float exp for the per-step softmax normalizers (a full vocabulary row per
// beam per step; libm's scalar exp dominated the search's time).
#include <cstdint>
#include <cstring>
#include <span>

namespace voiceman::decoding {

// exp(x) within ~2 ulp for x in [-87.3, 88.7]; 0 below (a disabled logit's weight), +max above.
inline float fast_exp(float x) {
  constexpr float kMin = -87.3365448f, kMax = 88.7228394f;
  const bool underflow = x < kMin;
  x = x < kMin ? kMin : (x > kMax ? kMax : x);
  // x = n ln2 + r, |r| <= ln2 / 2; n rounded to nearest with the 1.5 * 2^23 trick.
  constexpr float kRound = 12582912.0f;
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return underflow ? 0.0f : p * scale;
}

// sum_i exp(x[i] * scale - shift), accumulated in double.
double sum_exp(std::span<const float> x, float shift, float scale = 1.0f);

}  // namespace voiceman::decoding
