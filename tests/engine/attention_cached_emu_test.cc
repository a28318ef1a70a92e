// The decoder step's vectorised attention kernel (ops/attention_cached.cuh), its own
// source run on the CPU under tests/support/cuda_emulation, against a float64 reference
// on the same rounded inputs: every lane width it serves (4 to 32 lanes of 16 bytes) in
// float32, float16 and bfloat16, with keys and values of the same type or int8 with
// scales, visible lengths from 0 to the whole cache, rows that share a cache slot, alone
// or in runs that one block takes. GpuOps.CachedAttention* check the same kernel on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_emulation.h"
#include "voiceman/engine/ops/attention_cached.cuh"

namespace voiceman::ops::cuda::cached {
namespace {

namespace emu = voiceman::testing::emulation;

// Values as the kernel's storage type T and back, for the reference.
template <typename T>
T store(float v) {
  return prim::from_float<T>(v);
}
template <typename T>
double load(T v) {
  return prim::to_float(v);
}

// n standard normal values stored as T.
template <typename T>
std::vector<T> normal_values(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<T> x(static_cast<size_t>(n));
  for (auto& e : x) e = store<T>(normal(rng));
  return x;
}

// Keys and values [slots, capacity, heads * dh] as the kernel reads them (KV), and as the
// reference does (float64). An int8 cache has scales [slots, capacity, heads]; its data is
// drawn from [-127, 127] and its scales from [0.004, 0.02], about the range of the float
// caches' values, each scale its own so that one read for another position or head shows.
template <typename KV>
struct Cache {
  std::vector<KV> k, v;
  std::vector<float> k_scales, v_scales;
  std::vector<double> k_ref, v_ref;
};
template <typename KV>
Cache<KV> random_cache(int64_t slots, int64_t capacity, int64_t heads, int64_t dh,
                       std::mt19937& rng) {
  const int64_t n = slots * capacity * heads * dh;
  Cache<KV> c;
  if constexpr (std::is_same_v<KV, int8_t>) {
    std::uniform_int_distribution<int> level(-127, 127);
    std::uniform_real_distribution<float> scale(0.004f, 0.02f);
    for (auto* part : {&c.k, &c.v}) {
      part->resize(static_cast<size_t>(n));
      for (auto& e : *part) e = static_cast<int8_t>(level(rng));
    }
    for (auto* part : {&c.k_scales, &c.v_scales}) {
      part->resize(static_cast<size_t>(n / dh));
      for (auto& e : *part) e = scale(rng);
    }
    for (auto [data, scales, ref] :
         {std::tuple{&c.k, &c.k_scales, &c.k_ref}, std::tuple{&c.v, &c.v_scales, &c.v_ref}}) {
      ref->resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        (*ref)[i] = static_cast<double>((*data)[i]) * (*scales)[i / dh];
    }
  } else {
    c.k = normal_values<KV>(n, rng);
    c.v = normal_values<KV>(n, rng);
    for (auto [data, ref] : {std::pair{&c.k, &c.k_ref}, std::pair{&c.v, &c.v_ref}})
      for (const KV& e : *data) ref->push_back(load(e));
  }
  return c;
}

// kRows 1: one block per row; otherwise runs of rows sharing a slot take one block.
template <typename T, typename KV, int kLanes, int kRows = 1>
void run(const std::vector<T>& q, const Cache<KV>& c, const std::vector<int32_t>& index,
         const std::vector<int32_t>& lengths, int64_t slots, int64_t capacity, int64_t model,
         std::vector<T>& out, int max_rows = 1) {
  constexpr int64_t kDh = kLanes * Vec16<KV>::kSize;
  const int64_t rows = static_cast<int64_t>(lengths.size());
  const size_t shared_bytes = cached_shared_bytes(capacity, kDh, max_rows);
  ASSERT_LE(shared_bytes, kCachedSharedLimit);
  const float* k_scales = c.k_scales.empty() ? nullptr : c.k_scales.data();
  const float* v_scales = c.v_scales.empty() ? nullptr : c.v_scales.data();
  emu::launch({static_cast<unsigned>(rows), static_cast<unsigned>(model / kDh), 1}, kCachedThreads,
              shared_bytes, [&] {
                cached_attention_vec_kernel<T, KV, kLanes, kRows>(
                    q.data(), c.k.data(), c.v.data(), k_scales, v_scales, index.data(),
                    lengths.data(), rows, slots, capacity, model,
                    1.f / std::sqrt(static_cast<float>(kDh)), max_rows, out.data());
              });
}

// max|out - reference| / max|reference|, the reference in float64 on the same inputs.
template <typename T, typename KV>
double reference_error(const std::vector<T>& q, const Cache<KV>& c,
                       const std::vector<int32_t>& index, const std::vector<int32_t>& lengths,
                       int64_t capacity, int64_t heads, int64_t dh, const std::vector<T>& out) {
  const int64_t rows = static_cast<int64_t>(lengths.size()), model = heads * dh;
  double worst = 0, top = 0;
  std::vector<double> p(capacity);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t len = std::min<int64_t>(lengths[r], capacity);
      const int64_t base = index[r] * capacity * model + h * dh;
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < len; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < dh; ++d)
          dot += load(q[r * model + h * dh + d]) * c.k_ref[base + j * model + d];
        p[j] = dot / std::sqrt(static_cast<double>(dh));
        mx = std::max(mx, p[j]);
      }
      for (int64_t j = 0; j < len; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int64_t d = 0; d < dh; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j) acc += p[j] * c.v_ref[base + j * model + d];
        const double want = len > 0 ? acc / sum : 0.0, got = load(out[r * model + h * dh + d]);
        if (std::isnan(got)) return 1e9;
        worst = std::max(worst, std::abs(got - want));
        top = std::max(top, std::abs(want));
      }
    }
  return worst / top;
}

// max|kernel - reference| / max|reference| for one head width.
template <typename T, typename KV>
double relative_error(int64_t dh, int64_t capacity, uint32_t seed) {
  const int64_t heads = 2, model = heads * dh, slots = 3, lanes = dh / Vec16<KV>::kSize;
  // Every length class: nothing visible, one key, a part of a lane group's trip, more
  // than one trip, the whole cache; two rows read slot 2.
  const std::vector<int32_t> lengths = {0, 1, 5, 33, 65, static_cast<int32_t>(capacity)};
  const std::vector<int32_t> index = {2, 0, 1, 2, 0, 1};
  const int64_t rows = static_cast<int64_t>(lengths.size());
  std::mt19937 rng(seed);
  const auto q = normal_values<T>(rows * model, rng);
  const auto cache = random_cache<KV>(slots, capacity, heads, dh, rng);
  std::vector<T> out(rows * model, store<T>(NAN));
  // The kernel instance for this lane count, as attention_cuda.cu picks it.
  auto launch = [&]<int... kLanes>(std::integer_sequence<int, kLanes...>) {
    return ((lanes == kLanes &&
             (run<T, KV, kLanes>(q, cache, index, lengths, slots, capacity, model, out), true)) ||
            ...);
  };
  if (!launch(std::integer_sequence<int, 4, 8, 16, 32>{})) {
    ADD_FAILURE() << "no kernel for " << lanes << " lanes";
    return 1e9;
  }
  return reference_error(q, cache, index, lengths, capacity, heads, dh, out);
}

template <typename T, typename KV = T>
void check_dtype(const char* name, std::initializer_list<int64_t> widths, double tolerance) {
  for (const int64_t dh : widths)
    for (const int64_t capacity : {70, 1500}) {
      if (capacity == 1500 && dh != 64) continue;  // the cross attention's length
      const double e = relative_error<T, KV>(dh, capacity, static_cast<uint32_t>(dh + capacity));
      EXPECT_LT(e, tolerance) << name << " head width " << dh << ", cache " << capacity;
      std::printf("[emulated] cached attention %s dh %lld cache %lld: %.2e\n", name,
                  static_cast<long long>(dh), static_cast<long long>(capacity), e);
    }
}

TEST(CachedAttentionEmulated, MatchesAFloat64Reference) {
  // The tolerances of the GPU parity tests.
  check_dtype<float>("float32", {16, 32, 64, 128}, 1e-4);
  check_dtype<__half>("float16", {32, 64, 128, 256}, 4e-3);
  check_dtype<__nv_bfloat16>("bfloat16", {32, 64, 128, 256}, 3e-2);
}

// int8 keys and values: the reference reads the same dequantised values, so what is left is
// float32 summation and rounding the output to T (half an ulp: 2^-11 in float16, 2^-8 in
// bfloat16).
TEST(CachedAttentionEmulated, Int8CacheMatchesAFloat64Reference) {
  check_dtype<float, int8_t>("float32, int8 cache", {64, 128, 256, 512}, 1e-6);
  check_dtype<__half, int8_t>("float16, int8 cache", {64, 128, 256, 512}, 5e-4);
  check_dtype<__nv_bfloat16, int8_t>("bfloat16, int8 cache", {64, 128, 256, 512}, 4e-3);
}

// Runs of rows sharing a slot and a length (a window's beams) in one block: the same bits
// as one block per row, whether a run fits one block or is split over several (a block
// takes at most max_rows), and the reference's values.
template <typename T, typename KV, int kLanes>
void check_runs(const char* name, int64_t capacity, double tolerance) {
  constexpr int64_t kDh = kLanes * Vec16<KV>::kSize;
  const int64_t heads = 2, model = heads * kDh, slots = 3;
  const auto c = static_cast<int32_t>(capacity);
  // Three beams of slot 2; ten of slot 0 (more than a block takes); two rows of slot 1 with
  // different lengths (two runs); a run with nothing visible; a lone row.
  const std::vector<int32_t> index = {2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 1};
  const std::vector<int32_t> lengths = {c,  c,  c,  65, 65, 65, 65, 65, 65,
                                        65, 65, 65, 65, 33, 5,  0,  0,  c};
  const int64_t rows = static_cast<int64_t>(index.size());
  std::mt19937 rng(static_cast<uint32_t>(capacity + kDh));
  const auto q = normal_values<T>(rows * model, rng);
  const auto cache = random_cache<KV>(slots, capacity, heads, kDh, rng);
  const int fit = cached_max_rows(capacity, kDh);
  ASSERT_GE(fit, 3) << name;
  std::vector<T> alone(rows * model, store<T>(NAN));
  run<T, KV, kLanes>(q, cache, index, lengths, slots, capacity, model, alone);
  for (const int max_rows : {fit, 3}) {
    std::vector<T> grouped(rows * model, store<T>(NAN));
    run<T, KV, kLanes, kCachedMaxRows>(q, cache, index, lengths, slots, capacity, model, grouped,
                                       max_rows);
    const double e = reference_error(q, cache, index, lengths, capacity, heads, kDh, grouped);
    EXPECT_LT(e, tolerance) << name << ", " << max_rows << " rows a block";
    EXPECT_EQ(0, std::memcmp(grouped.data(), alone.data(), grouped.size() * sizeof(T)))
        << name << ", " << max_rows << " rows a block: not the bits of one block per row";
    std::printf("[emulated] cached attention %s dh %lld cache %lld, runs of up to %d rows: %.2e\n",
                name, static_cast<long long>(kDh), static_cast<long long>(capacity), max_rows, e);
  }
}

TEST(CachedAttentionEmulated, RowsSharingASlotTakeOneBlockWithTheBitsOfOneBlockEach) {
  check_runs<__half, __half, 8>("float16", 70, 4e-3);
  check_runs<__half, __half, 8>("float16", 1500, 4e-3);  // the cross attention's frames
  check_runs<float, float, 16>("float32", 70, 1e-4);
  check_runs<__nv_bfloat16, __nv_bfloat16, 16>("bfloat16", 70, 3e-2);
}

TEST(CachedAttentionEmulated, Int8RowsSharingASlotTakeOneBlockWithTheBitsOfOneBlockEach) {
  check_runs<__half, int8_t, 4>("float16, int8 cache", 70, 5e-4);
  check_runs<__half, int8_t, 4>("float16, int8 cache", 1500, 5e-4);
  check_runs<float, int8_t, 4>("float32, int8 cache", 70, 1e-6);
  check_runs<__nv_bfloat16, int8_t, 8>("bfloat16, int8 cache", 70, 4e-3);
}

}  // namespace
}  // namespace voiceman::ops::cuda::cached
