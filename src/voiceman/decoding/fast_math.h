#pragma once
// Vectorized exp sums for the per-step softmax normalizers: a full vocabulary row per beam
// per step, where libm's scalar exp dominated the search's time.
#include <cstddef>
#include <span>

namespace voiceman::decoding {

// exp(x) within a few ulp for x in [-87.3, 88]; 0 below (a disabled logit's weight).
float fast_exp(float x);

// Largest value (-inf for an empty span); vectorized, unlike std::max_element on floats.
float max_value(std::span<const float> x);

// Index of the first largest value (0 for an empty span).
size_t argmax_index(std::span<const float> x);

// sum_i exp(x[i] * scale - shift), accumulated in double.
double sum_exp(std::span<const float> x, float shift, float scale = 1.0f);

// out[i] = exp(x[i] * scale - shift).
void exp_into(std::span<const float> x, float shift, float scale, std::span<float> out);

}  // namespace voiceman::decoding
