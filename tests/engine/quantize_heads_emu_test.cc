// The int8 key/value quantisation kernels (ops/quantize_heads.cuh), their own source run
// on the CPU under tests/support/cuda_emulation, against ops.h's rule written out here in
// the CPU's float arithmetic: heads narrower and wider than a warp, a head of zeros, NaNs
// and infinities, float32, float16 and bfloat16, and grids too small for one warp per
// head (the grid-stride loop). GpuQuantizedCache.QuantizeHeadsGivesTheCpusBytes checks
// the same kernels against the CPU op on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cuda_emulation.h"
#include "voiceman/engine/ops/quantize_heads.cuh"

namespace voiceman::ops::cuda::quantize {
namespace {

namespace emu = voiceman::testing::emulation;

template <typename T>
uint32_t bits_of(T v) {
  uint32_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}

struct Expected {
  std::vector<int8_t> data;
  std::vector<float> scales;
  std::vector<float> x;  // data * scale, before rounding into T
};

// ops.h's rule, as ops/quantize_cpu.cc computes it.
Expected rule(const std::vector<float>& x, int64_t pairs, int64_t dh) {
  Expected e{std::vector<int8_t>(x.size()), std::vector<float>(pairs),
             std::vector<float>(x.size())};
  for (int64_t p = 0; p < pairs; ++p) {
    float peak = 0.f;
    for (int64_t i = 0; i < dh; ++i)
      if (std::isfinite(x[p * dh + i])) peak = std::max(peak, std::fabs(x[p * dh + i]));
    const float scale = peak > 0.f ? peak / 127.f : 1.f;
    e.scales[p] = scale;
    for (int64_t i = 0; i < dh; ++i) {
      const float v = x[p * dh + i];
      const float level =
          std::isnan(v) ? 0.f : std::clamp(std::nearbyint(v / scale), -127.f, 127.f);
      e.data[p * dh + i] = static_cast<int8_t>(level);
      e.x[p * dh + i] = static_cast<float>(e.data[p * dh + i]) * scale;
    }
  }
  return e;
}

template <typename T>
void check(int64_t rows, int64_t heads, int64_t dh, unsigned blocks, uint32_t seed) {
  const int64_t pairs = rows * heads, n = pairs * dh;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<T> x(n);
  for (auto& v : x) v = prim::from_float<T>(normal(rng));
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < dh; ++i) x[dh + i] = prim::from_float<T>(0.f);  // a head of zeros
  if (pairs > 2) {  // NaN and both infinities among finite values
    x[2 * dh + 1] = prim::from_float<T>(std::numeric_limits<float>::quiet_NaN());
    x[2 * dh + dh - 1] = prim::from_float<T>(inf);
    x[2 * dh] = prim::from_float<T>(-inf);
  }
  if (pairs > 3)
    for (int64_t i = 0; i < dh; ++i) x[3 * dh + i] = prim::from_float<T>(i % 2 ? inf : -inf);
  std::vector<float> as_float(n);
  for (int64_t i = 0; i < n; ++i) as_float[i] = prim::to_float(x[i]);
  const Expected want = rule(as_float, pairs, dh);

  std::vector<int8_t> data(n, 99);
  std::vector<float> scales(pairs, -1.f);
  emu::launch({blocks, 1, 1}, kThreads, 0,
              [&] { quantize_heads_kernel<T>(x.data(), data.data(), scales.data(), pairs, dh); });
  const char* what = sizeof(T) == 4 ? "float32" : "16-bit";
  for (int64_t p = 0; p < pairs; ++p)
    ASSERT_EQ(bits_of(scales[p]), bits_of(want.scales[p])) << what << " head " << p;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(data[i], want.data[i]) << what << " value " << i << " of head " << i / dh;
    ASSERT_EQ(bits_of(x[i]), bits_of(prim::from_float<T>(want.x[i]))) << what << " x " << i;
  }

  std::vector<T> back(n, prim::from_float<T>(-7.f));
  emu::launch({2, 1, 1}, 64, 0,
              [&] { dequantize_heads_kernel<T>(data.data(), scales.data(), n, dh, back.data()); });
  for (int64_t i = 0; i < n; ++i)  // bit for bit: a value rounded to -0 is stored as 0
    ASSERT_EQ(bits_of(back[i]), bits_of(x[i])) << what << " dequantised " << i;
}

TEST(QuantizeHeadsEmulated, GivesTheRulesBytes) {
  struct Shape {
    int64_t rows, heads, dh;
  };
  for (const Shape s : {Shape{5, 3, 20}, Shape{3, 2, 64}, Shape{2, 3, 100}}) {
    const int64_t pairs = s.rows * s.heads;
    const auto enough = static_cast<unsigned>((pairs + kWarps - 1) / kWarps);
    for (unsigned blocks : {enough, 1u}) {
      SCOPED_TRACE(::testing::Message()
                   << s.rows << "x" << s.heads << "x" << s.dh << ", " << blocks << " block(s)");
      check<float>(s.rows, s.heads, s.dh, blocks, 7);
      check<__half>(s.rows, s.heads, s.dh, blocks, 8);
      check<__nv_bfloat16>(s.rows, s.heads, s.dh, blocks, 9);
    }
  }
}

}  // namespace
}  // namespace voiceman::ops::cuda::quantize
