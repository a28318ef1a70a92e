#include "voiceman/decoding/fast_math.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "voiceman/engine/primitives/simd.h"

// The 64-byte vectors live in registers inside inlined code only; no call passes one.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace voiceman::decoding {

namespace {

// GCC/Clang vector extensions. One logical vector of 16 floats on every CPU: the SSE2
// baseline runs it as four registers, the AVX2 and AVX-512 clones as two or one. The lanes
// and the order of the partial sums are the same in each, and fast_math.cc is built
// without FMA contraction, so every clone (and aarch64) rounds identically.
using vf = float __attribute__((vector_size(64)));
using vi = int32_t __attribute__((vector_size(64)));
constexpr size_t kLanes = sizeof(vf) / sizeof(float);

constexpr float kMin = -87.3365448f, kMax = 88.0f;  // 2^n stays a normal float
constexpr float kInf = std::numeric_limits<float>::infinity();

// Cephes-style: x = n ln2 + r, |r| <= ln2 / 2, exp(r) by polynomial, 2^n through the exponent.
__attribute__((always_inline)) inline vf exp_lanes(vf x) {
  const vi keep = x >= kMin;  // false for -inf and disabled logits: weight 0
  x = x < kMin ? kMin : x;
  x = x > kMax ? kMax : x;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const vf n = (x * 1.44269504088896341f + kRound) - kRound;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
  const vf result = p * std::bit_cast<vf>(bits);
  return std::bit_cast<vf>(std::bit_cast<vi>(result) & keep);
}

__attribute__((always_inline)) inline vf load(const float* x) {
  vf v;
  __builtin_memcpy(&v, x, sizeof(v));
  return v;
}

// The last n < kLanes values as x * scale - shift, -inf after them (weight 0, never a
// maximum).
__attribute__((always_inline)) inline vf load_tail(const float* x, size_t n, float scale = 1.0f,
                                                   float shift = 0.0f) {
  vf v = -kInf - vf{};
  for (size_t i = 0; i < n; ++i) v[i] = x[i] * scale - shift;
  return v;
}

__attribute__((always_inline)) inline float lane_max(vf m) {
  float best = m[0];
  for (size_t i = 1; i < kLanes; ++i) best = m[i] > best ? m[i] : best;
  return best;
}

}  // namespace

VOICEMAN_MULTIVERSION float max_value(std::span<const float> x) {
  vf m = -kInf - vf{};
  size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes) {
    const vf v = load(x.data() + i);
    m = v > m ? v : m;
  }
  if (i < x.size()) {
    const vf v = load_tail(x.data() + i, x.size() - i);
    m = v > m ? v : m;
  }
  return lane_max(m);
}

size_t argmax_index(std::span<const float> x) {
  const float best = max_value(x);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == best) return i;
  }
  return 0;
}

float fast_exp(float x) { return exp_lanes(x - vf{})[0]; }

VOICEMAN_MULTIVERSION double sum_exp(std::span<const float> x, float shift, float scale) {
  double total = 0;
  size_t i = 0;
  constexpr size_t kBlock = 64;  // float partial sums per block, then double across blocks
  while (i < x.size()) {
    vf acc = {};
    const size_t end = std::min(x.size(), i + kBlock);
    for (; i + kLanes <= end; i += kLanes) acc += exp_lanes(load(x.data() + i) * scale - shift);
    if (i < end) {
      acc += exp_lanes(load_tail(x.data() + i, end - i, scale, shift));
      i = end;
    }
    for (size_t l = 0; l < kLanes; ++l) total += double(acc[l]);
  }
  return total;
}

VOICEMAN_MULTIVERSION void exp_into(std::span<const float> x, float shift, float scale,
                                    std::span<float> out) {
  size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes) {
    const vf e = exp_lanes(load(x.data() + i) * scale - shift);
    __builtin_memcpy(out.data() + i, &e, sizeof(e));
  }
  if (i < x.size()) {
    const vf e = exp_lanes(load_tail(x.data() + i, x.size() - i, scale, shift));
    for (size_t k = 0; i + k < x.size(); ++k) out[i + k] = e[k];
  }
}

}  // namespace voiceman::decoding
