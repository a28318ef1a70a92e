#pragma once
// Token choice for one row of log-probabilities: CTranslate2's BestSampler (greedy) and
// RandomSampler with sampling_topk = 0 (the whole vocabulary), on an explicit RNG.
#include <cstdint>
#include <random>
#include <span>

namespace voiceman::decoding {

// Index of the first maximum, like CTranslate2's top-1.
int32_t argmax(std::span<const float> log_probs);

// Draws from softmax(log_probs / temperature); temperature must be > 0.
int32_t sample_token(std::span<const float> log_probs, float temperature, std::mt19937_64& rng);

// Uniform double in [0, 1) from 53 random bits (the same on every platform).
double uniform01(std::mt19937_64& rng);

// Seed of one sampling stream: a hash of the base seed, the request's seed and the sample index.
uint64_t mix_seed(uint64_t base, uint64_t request, uint64_t index);

}  // namespace voiceman::decoding
