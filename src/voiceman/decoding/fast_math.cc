#include "voiceman/decoding/fast_math.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

namespace voiceman::decoding {

namespace {

// GCC/Clang vector extensions: SSE2 on the x86-64 baseline, no flags needed, no traps
// blocking vectorization of the comparisons.
using v4f = float __attribute__((vector_size(16)));
using v4i = int32_t __attribute__((vector_size(16)));

constexpr float kMin = -87.3365448f, kMax = 88.0f;  // 2^n stays a normal float

// Cephes-style: x = n ln2 + r, |r| <= ln2 / 2, exp(r) by polynomial, 2^n through the exponent.
inline v4f exp4(v4f x) {
  const v4i keep = x >= kMin;  // false for -inf and disabled logits: weight 0
  x = x < kMin ? kMin : x;
  x = x > kMax ? kMax : x;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const v4f n = (x * 1.44269504088896341f + kRound) - kRound;
  v4f r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  v4f p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const v4i bits = (__builtin_convertvector(n, v4i) + 127) << 23;
  const v4f result = p * std::bit_cast<v4f>(bits);
  return std::bit_cast<v4f>(std::bit_cast<v4i>(result) & keep);
}

inline v4f load4(const float* x, size_t n, float scale, float shift) {
  v4f v = {-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
           -std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (size_t i = 0; i < n; ++i) v[i] = x[i] * scale - shift;
  return v;
}

}  // namespace

float max_value(std::span<const float> x) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  v4f m = {-kInf, -kInf, -kInf, -kInf};
  size_t i = 0;
  for (; i + 4 <= x.size(); i += 4) {
    v4f v;
    __builtin_memcpy(&v, x.data() + i, sizeof(v));
    m = v > m ? v : m;
  }
  float best = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
  for (; i < x.size(); ++i) best = x[i] > best ? x[i] : best;
  return best;
}

size_t argmax_index(std::span<const float> x) {
  const float best = max_value(x);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == best) return i;
  }
  return 0;
}

float fast_exp(float x) { return exp4(v4f{x, x, x, x})[0]; }

double sum_exp(std::span<const float> x, float shift, float scale) {
  double total = 0;
  size_t i = 0;
  constexpr size_t kBlock = 64;  // float partial sums per block, then double across blocks
  while (i < x.size()) {
    v4f acc = {0, 0, 0, 0};
    const size_t end = std::min(x.size(), i + kBlock);
    for (; i + 4 <= end; i += 4) {
      v4f v;
      __builtin_memcpy(&v, x.data() + i, sizeof(v));
      acc += exp4(v * scale - shift);
    }
    if (i < end) {
      acc += exp4(load4(x.data() + i, end - i, scale, shift));
      i = end;
    }
    total += double(acc[0]) + double(acc[1]) + double(acc[2]) + double(acc[3]);
  }
  return total;
}

void exp_into(std::span<const float> x, float shift, float scale, std::span<float> out) {
  size_t i = 0;
  for (; i + 4 <= x.size(); i += 4) {
    v4f v;
    __builtin_memcpy(&v, x.data() + i, sizeof(v));
    const v4f e = exp4(v * scale - shift);
    __builtin_memcpy(out.data() + i, &e, sizeof(e));
  }
  if (i < x.size()) {
    const v4f e = exp4(load4(x.data() + i, x.size() - i, scale, shift));
    for (size_t k = 0; i + k < x.size(); ++k) out[i + k] = e[k];
  }
}

}  // namespace voiceman::decoding
