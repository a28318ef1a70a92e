// int8 keys and values with a scale per position and head (ops::QuantizedCache): the
// quantisation and the decoder's attention over them, on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::ops {
namespace {

Tensor random_tensor(Shape shape, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  Tensor t(std::move(shape));
  for (float& v : t.span<float>()) v = dist(rng);
  return t;
}

ExecContext cpu() {
  ExecContext ctx;
  ctx.threads = 2;
  return ctx;
}

TEST(QuantizedCache, EachHeadTakesItsOwnScaleAndXTheRoundedValues) {
  // Two rows of two 4-wide heads; the last head is all zeros.
  Tensor x({2, 8});
  const std::vector<float> values = {1.f,  -2.f, 0.5f, 0.f,  0.1f, 0.2f, -0.3f, 0.05f,
                                     -4.f, 3.f,  2.f,  1.5f, 0.f,  0.f,  0.f,   0.f};
  std::copy(values.begin(), values.end(), x.data<float>());
  QuantizedCache q;
  quantize_heads(cpu(), x, 2, q);
  ASSERT_EQ(q.data.dtype(), DType::i8);
  ASSERT_EQ(q.data.shape(), (Shape{2, 8}));
  ASSERT_EQ(q.scales.shape(), (Shape{2, 2}));
  const float* scales = q.scales.data<float>();
  EXPECT_FLOAT_EQ(scales[0], 2.f / 127.f);
  EXPECT_FLOAT_EQ(scales[1], 0.3f / 127.f);
  EXPECT_FLOAT_EQ(scales[2], 4.f / 127.f);
  EXPECT_EQ(scales[3], 1.f);  // a head of zeros
  const int8_t* data = q.data.data<int8_t>();
  // 1 / (2/127) = 63.5 rounds to even: 64; -2 is the peak: -127; 0.5 -> 31.75 -> 32.
  EXPECT_EQ(data[0], 64);
  EXPECT_EQ(data[1], -127);
  EXPECT_EQ(data[2], 32);
  EXPECT_EQ(data[3], 0);
  EXPECT_EQ(data[6], -127);
  EXPECT_EQ(data[8], -127);
  EXPECT_EQ(data[9], 95);  // 3 / (4/127) = 95.25
  for (int i = 12; i < 16; ++i) EXPECT_EQ(data[i], 0);
  // x holds data * scale, within half a step of where it was.
  for (int i = 0; i < 16; ++i) {
    const float scale = scales[i / 4];
    EXPECT_EQ(x.data<float>()[i], static_cast<float>(data[i]) * scale) << i;
    EXPECT_LE(std::fabs(x.data<float>()[i] - values[static_cast<size_t>(i)]), 0.5f * scale) << i;
  }
}

TEST(QuantizedCache, DequantisingGivesTheValuesQuantisingLeftInX) {
  Tensor x = random_tensor({50, 192}, 44, 3.f);
  x.data<float>()[5] = -1e-6f;  // rounds to -0: stored, and left in x, as 0
  QuantizedCache q;
  quantize_heads(cpu(), x, 3, q);
  Tensor y;
  dequantize_heads(cpu(), q, DType::f32, y);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)  // bit for bit, as the GPU test compares them
    ASSERT_EQ(std::bit_cast<uint32_t>(y.data<float>()[i]),
              std::bit_cast<uint32_t>(x.data<float>()[i]))
        << i;
  EXPECT_THROW(dequantize_heads(cpu(), q, DType::f16, y), Error);  // the CPU writes float32
  QuantizedCache bad{q.data, Tensor({50, 5})};  // 5 heads do not divide 192 columns
  EXPECT_THROW(dequantize_heads(cpu(), bad, DType::f32, y), Error);
}

TEST(QuantizedCache, RefusesBadShapes) {
  Tensor x({3, 10});
  QuantizedCache q;
  EXPECT_THROW(quantize_heads(cpu(), x, 3, q), Error);  // 3 does not divide 10
  Tensor flat({30});
  EXPECT_THROW(quantize_heads(cpu(), flat, 1, q), Error);
  Tensor no_values({3, 0});  // rows of heads with no values: no scales to give
  EXPECT_THROW(quantize_heads(cpu(), no_values, 2, q), Error);
  Tensor no_rows({0, 8});
  quantize_heads(cpu(), no_rows, 2, q);
  EXPECT_EQ(q.scales.shape(), (Shape{0, 2}));
}

// A float16 overflow leaves infinities (and NaNs after them) in keys and values: they
// leave the scale to the finite values, NaN stores 0 and infinities saturate, and x
// then holds what the int8 copy holds (finite). GpuQuantizedCache checks the GPU's bytes.
TEST(QuantizedCache, ValuesThatAreNotFiniteSaturateOrStoreZero) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> values = {1.f, -inf, std::nanf(""), 2.f, inf, inf, -inf, inf};
  Tensor x({2, 4});
  std::copy(values.begin(), values.end(), x.data<float>());
  QuantizedCache q;
  quantize_heads(cpu(), x, 1, q);
  const int8_t* data = q.data.data<int8_t>();
  const float* scales = q.scales.data<float>();
  EXPECT_FLOAT_EQ(scales[0], 2.f / 127.f) << "the finite peak";
  EXPECT_EQ(scales[1], 1.f) << "no finite value: a head of zeros' scale";
  const std::vector<int8_t> want = {64, -127, 0, 127, 127, 127, -127, 127};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(data[i], want[static_cast<size_t>(i)]) << i;
    EXPECT_EQ(x.data<float>()[i], static_cast<float>(data[i]) * scales[i / 4]) << i;
  }
}

// Keys and values quantised, then attended to by the int8 op and by the float op over
// the rounded values (what quantize_heads leaves in x): the two must agree.
struct Case {
  Tensor q, k, v;
  QuantizedCache kq, vq;
};

Case make_case(int64_t slots, int64_t capacity, int64_t model, int heads, int64_t rows) {
  Case c{random_tensor({rows, model}, 41),
         random_tensor({slots, capacity, model}, 42),
         random_tensor({slots, capacity, model}, 43, 2.f),
         {},
         {}};
  for (auto [x, q] : {std::pair{&c.k, &c.kq}, std::pair{&c.v, &c.vq}}) {
    Tensor flat = x->reshape({slots * capacity, model});
    quantize_heads(cpu(), flat, heads, *q);
    q->data = q->data.reshape({slots, capacity, model});
    q->scales = q->scales.reshape({slots, capacity, heads});
  }
  return c;
}

TEST(QuantizedCache, AttentionOverInt8EqualsAttentionOverTheRoundedFloats) {
  // Beams sharing a slot, rows alone, lengths from 1 to the whole cache, head width 16.
  Case c = make_case(3, 60, 64, 4, 7);
  const std::vector<int32_t> slots = {2, 2, 2, 0, 1, 1, 0}, lengths = {60, 60, 60, 1, 33, 33, 17};
  Tensor want, got;
  cached_attention(cpu(), c.q, c.k, c.v, slots, lengths, 4, want);
  cached_attention(cpu(), c.q, c.kq, c.vq, slots, lengths, 4, got);
  ASSERT_EQ(got.shape(), want.shape());
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    worst = std::max(worst, double(std::fabs(got.data<float>()[i] - want.data<float>()[i])));
  EXPECT_LT(worst, 1e-5);

  // The int8 form must read each position's own scales: with one scale changed, the rows
  // attending to that slot change and the others do not.
  c.vq.scales.data<float>()[(2 * 60 + 5) * 4 + 1] *= 2.f;  // slot 2, position 5, head 1
  Tensor changed;
  cached_attention(cpu(), c.q, c.kq, c.vq, slots, lengths, 4, changed);
  for (int64_t r = 0; r < 7; ++r) {
    double d = 0;
    for (int64_t e = 0; e < 64; ++e)
      d = std::max(
          d, double(std::fabs(changed.data<float>()[r * 64 + e] - got.data<float>()[r * 64 + e])));
    if (slots[static_cast<size_t>(r)] == 2)
      EXPECT_GT(d, 1e-6) << r;
    else
      EXPECT_EQ(d, 0.0) << r;
  }
}

TEST(QuantizedCache, AttentionChecksItsOperands) {
  Case c = make_case(2, 8, 16, 2, 2);
  const std::vector<int32_t> slots = {0, 1}, lengths = {8, 3};
  Tensor out;
  // Scales with the wrong head count, float data, a row out of range, a length of zero.
  QuantizedCache bad = c.kq;
  bad.scales = Tensor({2, 8, 4});
  EXPECT_THROW(cached_attention(cpu(), c.q, bad, c.vq, slots, lengths, 2, out), Error);
  bad = c.kq;
  bad.data = c.k;
  EXPECT_THROW(cached_attention(cpu(), c.q, bad, c.vq, slots, lengths, 2, out), Error);
  EXPECT_THROW(
      cached_attention(cpu(), c.q, c.kq, c.vq, std::vector<int32_t>{0, 2}, lengths, 2, out), Error);
  EXPECT_THROW(cached_attention(cpu(), c.q, c.kq, c.vq, slots, std::vector<int32_t>{8, 0}, 2, out),
               Error);
  EXPECT_NO_THROW(cached_attention(cpu(), c.q, c.kq, c.vq, slots, lengths, 2, out));
}

}  // namespace
}  // namespace voiceman::ops
