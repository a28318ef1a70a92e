#include "voiceman/decoding/sampling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "voiceman/decoding/fast_math.h"

namespace voiceman::decoding {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

int32_t argmax(std::span<const float> log_probs) {
  return static_cast<int32_t>(argmax_index(log_probs));
}

double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

uint64_t mix_seed(uint64_t base, uint64_t request, uint64_t index) {
  return splitmix64(splitmix64(splitmix64(base) ^ request) ^ index);
}

int32_t sample_token(std::span<const float> log_probs, float temperature, std::mt19937_64& rng) {
  // CTranslate2 scales the log-probs by 1/T in the model's float type, then takes a softmax.
  const float inv_t = 1.0f / temperature;
  // Scaling by 1/T > 0 keeps the maximum in place.
  const float max = max_value(log_probs) * inv_t;
  if (!std::isfinite(max)) return argmax(log_probs);  // nothing left to sample from
  std::vector<float> weights(log_probs.size());
  double total = 0;
  exp_into(log_probs, max, inv_t, weights);
  for (float w : weights) total += w;
  const double target = uniform01(rng) * total;
  double cumulative = 0;
  int32_t last_nonzero = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    cumulative += weights[i];
    last_nonzero = static_cast<int32_t>(i);
    if (cumulative > target) return last_nonzero;
  }
  return last_nonzero;  // rounding left target at the very top
}

}  // namespace voiceman::decoding
