// The mma.sync flash attention kernel's own source (ops/attention_flash.cuh), run on the
// CPU under tests/support/cuda_emulation against a float64 reference on the same rounded
// inputs. It checks the kernel's fragment, tile, mask and pipeline indexing in every
// build; GpuOps.Attention checks the same kernel on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "cuda_emulation.h"
#include "voiceman/engine/ops/attention_flash.cuh"

namespace voiceman::ops::cuda::flash {
namespace {

namespace emu = voiceman::testing::emulation;

struct Case {
  int batch, tq, tk, heads;
  bool causal;
  bool packed = false;  // q, k, v side by side in one [batch, t, 3 * model] buffer (tq == tk)
};

// max|kernel - reference| / max|reference|, or a large value for NaNs and stray writes.
template <typename T>
double relative_error(const Case& c, uint32_t seed) {
  const T* tag = nullptr;
  const int64_t model = int64_t{c.heads} * kHead, out_size = int64_t{c.batch} * c.tq * model;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto make = [&](int64_t n) {
    std::vector<uint16_t> x(n);
    for (auto& e : x) e = to_bits(tag, normal(rng));
    return x;
  };
  // Where query/key/value row i of item b starts, and the kernel's pitches.
  const int64_t ld_in = c.packed ? 3 * model : model;
  const std::vector<uint16_t> qkv = make(c.packed ? int64_t{c.batch} * c.tq * ld_in : 0);
  const std::vector<uint16_t> q = c.packed ? qkv : make(out_size),
                              k = c.packed ? qkv : make(int64_t{c.batch} * c.tk * model),
                              v = c.packed ? qkv : make(int64_t{c.batch} * c.tk * model);
  const int64_t k_at = c.packed ? model : 0, v_at = c.packed ? 2 * model : 0;
  constexpr int64_t kGuard = 64;  // 128 bytes on each side of the output, never written
  constexpr uint16_t kUnwritten = 0x7e01;
  std::vector<uint16_t> out(out_size + 2 * kGuard, kUnwritten);
  const float scale_log2 = 1.f / 8.f * 1.4426950409f;
  const EmulatedDim3 grid{static_cast<unsigned>((c.tq + kRows - 1) / kRows),
                          static_cast<unsigned>(c.heads), static_cast<unsigned>(c.batch)};
  const Pitches ld{static_cast<int>(ld_in), static_cast<int>(ld_in), static_cast<int>(model)};
  emu::launch(grid, kThreads, kSmemBytes, [&] {
    mma_kernel<T>(reinterpret_cast<const T*>(q.data()), reinterpret_cast<const T*>(k.data() + k_at),
                  reinterpret_cast<const T*>(v.data() + v_at),
                  reinterpret_cast<T*>(out.data() + kGuard), c.tq, c.tk, ld, c.causal, scale_log2);
  });
  for (int64_t i = 0; i < kGuard; ++i)
    if (out[i] != kUnwritten || out[kGuard + out_size + i] != kUnwritten) return 1e9;

  auto at = [&](const std::vector<uint16_t>& x, int64_t i) {
    return static_cast<double>(from_bits(tag, x[i]));
  };
  double worst = 0, top = 0;
  std::vector<double> p(c.tk);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.tq; ++i) {
        const int64_t seen = c.causal ? c.tk - c.tq + i + 1 : c.tk;
        const int64_t qi = (b * c.tq + i) * ld_in + h * kHead;
        const int64_t oi = (b * c.tq + i) * model + h * kHead;
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < seen; ++j) {
          const int64_t kj = (b * c.tk + j) * ld_in + k_at + h * kHead;
          double dot = 0;
          for (int d = 0; d < kHead; ++d) dot += at(q, qi + d) * at(k, kj + d);
          p[j] = dot / 8.0;
          mx = std::max(mx, p[j]);
        }
        for (int64_t j = 0; j < seen; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (int d = 0; d < kHead; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < seen; ++j)
            acc += p[j] * at(v, (b * c.tk + j) * ld_in + v_at + h * kHead + d);
          const double want = seen > 0 ? acc / sum : 0.0, got = at(out, kGuard + oi + d);
          if (std::isnan(got)) return 1e9;
          worst = std::max(worst, std::abs(got - want));
          top = std::max(top, std::abs(want));
        }
      }
  return worst / top;
}

TEST(FlashAttentionEmulated, MatchesAFloat64Reference) {
  const Case cases[] = {
      {2, 150, 150, 2, false},  // two blocks, the second part-filled; three key tiles
      {1, 150, 150, 2, true},   // causal: skipped and diagonal tiles
      {1, 100, 200, 2, true},   // causal with a diagonal offset of 100
      // Offset 41: a tile visible in whole to a warp's row 8 but not its row 0.
      {1, 100, 141, 1, true},
      {1, 37, 250, 2, true},
      {3, 1, 70, 1, false},     // one query: seven of eight warps hold no rows
      {1, 130, 65, 1, false},   // a part-filled key tile; a block with 2 queries
      {1, 600, 600, 1, false},  // five blocks, ten key tiles
      {2, 129, 1, 1, false},
      // The encoder's form: a fused QKV projection read in place.
      {2, 150, 150, 3, false, true},
      {1, 70, 70, 2, true, true},
  };
  for (const Case& c : cases) {
    char name[64];
    std::snprintf(name, sizeof name, "b%d tq%d tk%d h%d%s%s", c.batch, c.tq, c.tk, c.heads,
                  c.causal ? " causal" : "", c.packed ? " packed" : "");
    // The tolerances of GpuOps.Attention: P and the output are rounded to the dtype.
    const double half = relative_error<__half>(c, 7), bf16 = relative_error<__nv_bfloat16>(c, 8);
    EXPECT_LT(half, 4e-3) << name << " float16";
    EXPECT_LT(bf16, 3e-2) << name << " bfloat16";
    std::printf("[emulated] flash attention %s: float16 %.2e, bfloat16 %.2e\n", name, half, bf16);
  }
}

}  // namespace
}  // namespace voiceman::ops::cuda::flash
