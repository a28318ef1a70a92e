#include "voiceman/decoding/fast_math.h"

#include <algorithm>

namespace voiceman::decoding {

double sum_exp(std::span<const float> x, float shift, float scale) {
  constexpr size_t kBlock = 64;  // exps in a small buffer (vectorized), then an exact-ish sum
  float buf[kBlock];
  double total = 0;
  for (size_t begin = 0; begin < x.size(); begin += kBlock) {
    const size_t n = std::min(kBlock, x.size() - begin);
    const float* in = x.data() + begin;
    for (size_t i = 0; i < n; ++i) buf[i] = fast_exp(in[i] * scale - shift);
    float block = 0;
    for (size_t i = 0; i < n; ++i) block += buf[i];
    total += block;
  }
  return total;
}

}  // namespace voiceman::decoding
