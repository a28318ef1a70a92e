// The decoder step's vectorised attention kernel (ops/attention_cached.cuh), its own
// source run on the CPU under tests/support/cuda_emulation, against a float64 reference
// on the same rounded inputs: every lane width it serves (4 to 32 lanes of 16 bytes) in
// float32, float16 and bfloat16, visible lengths from 0 to the whole cache, rows that
// share a cache slot, alone or in runs that one block takes. GpuOps.CachedAttention*
// check the same kernel on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
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

// kRows 1: one block per row; otherwise runs of rows sharing a slot take one block.
template <typename T, int kLanes, int kRows = 1>
void run(const std::vector<T>& q, const std::vector<T>& k, const std::vector<T>& v,
         const std::vector<int32_t>& index, const std::vector<int32_t>& lengths, int64_t slots,
         int64_t capacity, int64_t model, std::vector<T>& out, int max_rows = 1) {
  constexpr int64_t kDh = kLanes * Vec16<T>::kSize;
  const int64_t rows = static_cast<int64_t>(lengths.size());
  const size_t shared_bytes = cached_shared_bytes(capacity, kDh, max_rows);
  ASSERT_LE(shared_bytes, kCachedSharedLimit);
  emu::launch({static_cast<unsigned>(rows), static_cast<unsigned>(model / kDh), 1}, kCachedThreads,
              shared_bytes, [&] {
                cached_attention_vec_kernel<T, kLanes, kRows>(
                    q.data(), k.data(), v.data(), index.data(), lengths.data(), rows, slots,
                    capacity, model, 1.f / std::sqrt(static_cast<float>(kDh)), max_rows,
                    out.data());
              });
}

// max|out - reference| / max|reference|, the reference in float64 on the same inputs.
template <typename T>
double reference_error(const std::vector<T>& q, const std::vector<T>& k, const std::vector<T>& v,
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
          dot += load(q[r * model + h * dh + d]) * load(k[base + j * model + d]);
        p[j] = dot / std::sqrt(static_cast<double>(dh));
        mx = std::max(mx, p[j]);
      }
      for (int64_t j = 0; j < len; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int64_t d = 0; d < dh; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j) acc += p[j] * load(v[base + j * model + d]);
        const double want = len > 0 ? acc / sum : 0.0, got = load(out[r * model + h * dh + d]);
        if (std::isnan(got)) return 1e9;
        worst = std::max(worst, std::abs(got - want));
        top = std::max(top, std::abs(want));
      }
    }
  return worst / top;
}

// n standard normal values stored as T.
template <typename T>
std::vector<T> normal_values(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<T> x(static_cast<size_t>(n));
  for (auto& e : x) e = store<T>(normal(rng));
  return x;
}

// max|kernel - reference| / max|reference| for one head width.
template <typename T>
double relative_error(int64_t dh, int64_t capacity, uint32_t seed) {
  const int64_t heads = 2, model = heads * dh, slots = 3, lanes = dh / Vec16<T>::kSize;
  // Every length class: nothing visible, one key, a part of a lane group's trip, more
  // than one trip, the whole cache; two rows read slot 2.
  const std::vector<int32_t> lengths = {0, 1, 5, 33, 65, static_cast<int32_t>(capacity)};
  const std::vector<int32_t> index = {2, 0, 1, 2, 0, 1};
  const int64_t rows = static_cast<int64_t>(lengths.size());
  std::mt19937 rng(seed);
  const auto q = normal_values<T>(rows * model, rng),
             k = normal_values<T>(slots * capacity * model, rng),
             v = normal_values<T>(slots * capacity * model, rng);
  std::vector<T> out(rows * model, store<T>(NAN));
  // The kernel instance for this lane count, as attention_cuda.cu picks it.
  auto launch = [&]<int... kLanes>(std::integer_sequence<int, kLanes...>) {
    return ((lanes == kLanes &&
             (run<T, kLanes>(q, k, v, index, lengths, slots, capacity, model, out), true)) ||
            ...);
  };
  if (!launch(std::integer_sequence<int, 4, 8, 16, 32>{})) {
    ADD_FAILURE() << "no kernel for " << lanes << " lanes";
    return 1e9;
  }
  return reference_error(q, k, v, index, lengths, capacity, heads, dh, out);
}

template <typename T>
void check_dtype(const char* name, std::initializer_list<int64_t> widths, double tolerance) {
  for (const int64_t dh : widths)
    for (const int64_t capacity : {70, 1500}) {
      if (capacity == 1500 && dh != 64) continue;  // the cross attention's length
      const double e = relative_error<T>(dh, capacity, static_cast<uint32_t>(dh + capacity));
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

// Runs of rows sharing a slot and a length (a window's beams) in one block: the same bits
// as one block per row, whether a run fits one block or is split over several (a block
// takes at most max_rows), and the reference's values.
template <typename T, int kLanes>
void check_runs(const char* name, int64_t capacity, double tolerance) {
  constexpr int64_t kDh = kLanes * Vec16<T>::kSize;
  const int64_t heads = 2, model = heads * kDh, slots = 3;
  const auto c = static_cast<int32_t>(capacity);
  // Three beams of slot 2; ten of slot 0 (more than a block takes); two rows of slot 1 with
  // different lengths (two runs); a run with nothing visible; a lone row.
  const std::vector<int32_t> index = {2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 1};
  const std::vector<int32_t> lengths = {c,  c,  c,  65, 65, 65, 65, 65, 65,
                                        65, 65, 65, 65, 33, 5,  0,  0,  c};
  const int64_t rows = static_cast<int64_t>(index.size());
  std::mt19937 rng(static_cast<uint32_t>(capacity + kDh));
  const auto q = normal_values<T>(rows * model, rng),
             k = normal_values<T>(slots * capacity * model, rng),
             v = normal_values<T>(slots * capacity * model, rng);
  const int fit = cached_max_rows(capacity, kDh);
  ASSERT_GE(fit, 3) << name;
  std::vector<T> alone(rows * model, store<T>(NAN));
  run<T, kLanes>(q, k, v, index, lengths, slots, capacity, model, alone);
  for (const int max_rows : {fit, 3}) {
    std::vector<T> grouped(rows * model, store<T>(NAN));
    run<T, kLanes, kCachedMaxRows>(q, k, v, index, lengths, slots, capacity, model, grouped,
                                   max_rows);
    const double e = reference_error(q, k, v, index, lengths, capacity, heads, kDh, grouped);
    EXPECT_LT(e, tolerance) << name << ", " << max_rows << " rows a block";
    EXPECT_EQ(0, std::memcmp(grouped.data(), alone.data(), grouped.size() * sizeof(T)))
        << name << ", " << max_rows << " rows a block: not the bits of one block per row";
    std::printf("[emulated] cached attention %s dh %lld cache %lld, runs of up to %d rows: %.2e\n",
                name, static_cast<long long>(kDh), static_cast<long long>(capacity), max_rows, e);
  }
}

TEST(CachedAttentionEmulated, RowsSharingASlotTakeOneBlockWithTheBitsOfOneBlockEach) {
  check_runs<__half, 8>("float16", 70, 4e-3);
  check_runs<__half, 8>("float16", 1500, 4e-3);  // the cross attention's frames
  check_runs<float, 16>("float32", 70, 1e-4);
  check_runs<__nv_bfloat16, 16>("bfloat16", 70, 3e-2);
}

}  // namespace
}  // namespace voiceman::ops::cuda::cached
