// int8 keys and values on the GPU (ops::QuantizedCache): quantize_heads and the decoder's
// attention over an int8 cache, against the CPU (tests/engine/quantized_cache_test.cc
// checks the CPU side). Each test skips when no CUDA device is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "support/gpu_parity.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cuda.h"

namespace voiceman::ops {
namespace {

using voiceman::testing::cpu_cached_attention;
using voiceman::testing::device_table;
using voiceman::testing::expect_close;
using voiceman::testing::gpu;
using voiceman::testing::kPrecisions;
using voiceman::testing::rounded;
using voiceman::testing::unwritten;
using voiceman::testing::upload;

ExecContext cpu() {
  ExecContext ctx;
  ctx.threads = 2;
  return ctx;
}
Tensor random_tensor(Shape shape, uint32_t seed, float scale = 1.f) {
  return voiceman::testing::normal_tensor(std::move(shape), seed, 0.f, scale);
}

class GpuQuantizedCache : public voiceman::testing::GpuTest {};

// Host tensors of one dtype and shape: how many elements differ, bit for bit.
int64_t differing(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  EXPECT_EQ(got.dtype(), want.dtype());
  if (got.shape() != want.shape() || got.dtype() != want.dtype()) return got.numel() + 1;
  const size_t size = dtype_size(got.dtype());
  int64_t count = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    count += std::memcmp(got.data<char>() + i * size, want.data<char>() + i * size, size) != 0;
  return count;
}

// The GPU's quantize_heads gives the CPU's bytes: the int8 data, the scales, and x
// rewritten as data * scale (the CPU's float32 result rounded to the dtype); and its
// dequantize_heads gives x back.
TEST_F(GpuQuantizedCache, QuantizeHeadsGivesTheCpusBytes) {
  struct Shape3 {
    int64_t rows, heads, dh;
  };
  for (const auto& p : kPrecisions) {
    for (const auto [rows, heads, dh] :
         {Shape3{37, 6, 64}, Shape3{5, 3, 20}, Shape3{1500, 20, 64}}) {
      Tensor x = rounded(random_tensor({rows, heads * dh}, 71, 2.f), p.dtype);
      std::fill_n(x.data<float>() + heads * dh + dh, dh, 0.f);  // a head of zeros: scale 1
      float* odd = x.data<float>() + 2 * dh;  // NaN and infinities among finite values
      odd[1] = std::nanf("");
      odd[0] = -std::numeric_limits<float>::infinity();
      odd[dh - 1] = std::numeric_limits<float>::infinity();
      Tensor xd = upload(x, p.dtype);
      QuantizedCache want, got;
      quantize_heads(cpu(), x, static_cast<int>(heads), want);
      quantize_heads(gpu(), xd, static_cast<int>(heads), got);
      ASSERT_EQ(got.data.dtype(), DType::i8);
      ASSERT_EQ(got.scales.dtype(), DType::f32);
      const int64_t data_off = differing(got.data.to(Device::cpu()), want.data);
      const int64_t scales_off = differing(got.scales.to(Device::cpu()), want.scales);
      Tensor x_want;
      cast(cpu(), x, p.dtype, x_want);
      const int64_t x_off = differing(xd.to(Device::cpu()), x_want);
      std::printf(
          "[parity] quantize_heads %lldx%lldx%lld %-9s differing: data %lld, scales %lld,"
          " x %lld\n",
          static_cast<long long>(rows), static_cast<long long>(heads), static_cast<long long>(dh),
          dtype_name(p.dtype).c_str(), static_cast<long long>(data_off),
          static_cast<long long>(scales_off), static_cast<long long>(x_off));
      EXPECT_EQ(data_off, 0) << dtype_name(p.dtype) << " dh " << dh;
      EXPECT_EQ(scales_off, 0) << dtype_name(p.dtype) << " dh " << dh;
      EXPECT_EQ(x_off, 0) << dtype_name(p.dtype) << " dh " << dh;
      // And back: the GPU's dequantize_heads gives what quantize_heads left in x.
      Tensor back;
      dequantize_heads(gpu(), got, p.dtype, back);
      const int64_t back_off = differing(back.to(Device::cpu()), xd.to(Device::cpu()));
      std::printf("[parity] dequantize_heads %lldx%lldx%lld %-9s differing: %lld\n",
                  static_cast<long long>(rows), static_cast<long long>(heads),
                  static_cast<long long>(dh), dtype_name(p.dtype).c_str(),
                  static_cast<long long>(back_off));
      EXPECT_EQ(back_off, 0) << dtype_name(p.dtype) << " dh " << dh;
    }
  }
}

// A cache of `slots` x `capacity` positions quantised on the CPU (data [slots, capacity,
// heads * dh], scales [slots, capacity, heads]), on the CPU or on cuda:0.
QuantizedCache int8_cache(int64_t slots, int64_t capacity, int64_t heads, int64_t dh,
                          uint32_t seed) {
  Tensor x = random_tensor({slots * capacity, heads * dh}, seed);
  QuantizedCache c;
  quantize_heads(cpu(), x, static_cast<int>(heads), c);
  return {c.data.reshape({slots, capacity, heads * dh}),
          c.scales.reshape({slots, capacity, heads})};
}
QuantizedCache to_gpu(const QuantizedCache& c) {
  return {c.data.to(Device::cuda(0)), c.scales.to(Device::cuda(0))};
}

// Attention over int8 keys and values on the GPU against the CPU's: the vectorised kernel
// (head widths 64 and 128, 16 int8 values a lane) over up to 1,500 frames, with beams
// that share a slot taking one block; the generic kernel for the other widths (20, 32 and
// 48) and when asked for; index tables from the host and on the device.
TEST_F(GpuQuantizedCache, CachedAttentionOverAnInt8Cache) {
  struct Case {
    const char* name;
    int64_t heads, dh, capacity;
    std::vector<int32_t> index, lengths;
  };
  const Case cases[] = {
      {"int8: 6 heads of 64", 6, 64, 40, {2, 0, 2}, {1, 40, 17}},
      {"int8: 20 heads of 64, 1500 frames", 20, 64, 1500, {1, 0, 1, 2}, {1500, 1500, 1499, 65}},
      {"int8: 2 heads of 128", 2, 128, 300, {0, 1}, {300, 33}},
      {"int8: 4 heads of 32 (generic)", 4, 32, 100, {1, 0}, {100, 1}},
      {"int8: 4 heads of 48 (generic)", 4, 48, 100, {1, 0, 2}, {100, 1, 64}},
      {"int8: 3 heads of 20 (generic)", 3, 20, 70, {0, 1}, {70, 9}},
      {"int8 beams: 20 heads of 64, 1500 frames",
       20,
       64,
       1500,
       {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2},
       {1500, 1500, 1500, 1500, 1500, 700, 700, 700, 700, 700, 700, 700, 700, 700, 700, 1500, 9, 0,
        0}},
      {"int8 beams: 2 heads of 128",
       2,
       128,
       300,
       {2, 2, 2, 0, 0, 1, 1},
       {300, 300, 300, 3, 3, 50, 50}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int64_t d = c.heads * c.dh, slots = 3, rows = static_cast<int64_t>(c.index.size());
    const int heads = static_cast<int>(c.heads);
    const QuantizedCache k = int8_cache(slots, c.capacity, c.heads, c.dh, 34);
    const QuantizedCache v = int8_cache(slots, c.capacity, c.heads, c.dh, 35);
    const QuantizedCache kd = to_gpu(k), vd = to_gpu(v);
    const bool all_visible =
        std::all_of(c.lengths.begin(), c.lengths.end(), [](int32_t n) { return n > 0; });
    for (const auto& p : kPrecisions) {
      const Tensor q = rounded(random_tensor({rows, d}, 36), p.dtype);
      const Tensor want = cpu_cached_attention(q, k, v, c.index, c.lengths, heads);
      const Tensor qd = upload(q, p.dtype);
      Tensor got = unwritten(want.shape(), p.dtype);
      if (all_visible) {  // the host tables' front end refuses a length of 0
        cached_attention(gpu(), qd, kd, vd, c.index, c.lengths, heads, got);
        expect_close("cached_attention int8", p, got, want);
      }
      got = unwritten(want.shape(), p.dtype);
      cached_attention(gpu(), qd, kd, vd, device_table(c.index), device_table(c.lengths), heads,
                       got);
      expect_close("cached_attention int8 (device tables)", p, got, want);
      got = unwritten(want.shape(), p.dtype);
      cuda::cached_attention(gpu(), qd, kd, vd, device_table(c.index), device_table(c.lengths),
                             heads, got, cuda::CachedAttentionKernel::generic);
      expect_close("cached_attention int8 (generic kernel)", p, got, want);
      if (rows > slots) {
        got = unwritten(want.shape(), p.dtype);
        cuda::cached_attention(gpu(), qd, kd, vd, device_table(c.index), device_table(c.lengths),
                               heads, got, cuda::CachedAttentionKernel::one_row);
        expect_close("cached_attention int8 (one block per row)", p, got, want);
      }
    }
  }
}

}  // namespace
}  // namespace voiceman::ops
