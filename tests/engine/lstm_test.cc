// ops::lstm, relu, sigmoid and complex_magnitude against plain scalar references.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops {
namespace {

ExecContext cpu(int threads = 1) {
  ExecContext ctx;
  ctx.threads = threads;
  return ctx;
}

Tensor random_tensor(Shape shape, uint32_t seed, float scale = 0.5f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  Tensor t(std::move(shape));
  for (float& v : t.span<float>()) v = dist(rng);
  return t;
}

double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// v rounded to bfloat16 and back: what a bf16 product sees of v.
float bf16_round(float v) {
  return primitives::cpu::bf16_to_float(primitives::cpu::float_to_bf16(v));
}

// The textbook recurrence in double precision, one scalar at a time.
struct RefResult {
  std::vector<double> y, h, c;
};
// bf16_state: h is rounded to bfloat16 before each recurrent product (what bf16 w_hh does).
RefResult reference(const Tensor& x, const LstmWeights& w, bool reverse, const Tensor* h0,
                    const Tensor* c0, bool bf16_state = false) {
  const int64_t B = x.dim(0), T = x.dim(1), I = x.dim(2), H = w.hidden();
  RefResult r;
  r.y.assign(B * T * H, 0.0);
  r.h.assign(B * H, 0.0);
  r.c.assign(B * H, 0.0);
  for (int64_t i = 0; i < B * H; ++i) {
    if (h0) r.h[i] = h0->data<float>()[i];
    if (c0) r.c[i] = c0->data<float>()[i];
  }
  const float* wi = w.w_ih.data<float>();
  const float* wh = w.w_hh.data<float>();
  const float* bias = w.bias.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = reverse ? T - 1 - s : s;
      std::vector<double> gates(4 * H);
      for (int64_t g = 0; g < 4 * H; ++g) {
        double acc = bias[g];
        for (int64_t k = 0; k < I; ++k)
          acc += double(wi[g * I + k]) * x.data<float>()[(b * T + t) * I + k];
        for (int64_t k = 0; k < H; ++k) {
          const double hk = r.h[b * H + k];
          acc += double(wh[g * H + k]) * (bf16_state ? bf16_round(static_cast<float>(hk)) : hk);
        }
        gates[g] = acc;
      }
      for (int64_t j = 0; j < H; ++j) {
        const double i = sig(gates[j]), f = sig(gates[H + j]), g = std::tanh(gates[2 * H + j]),
                     o = sig(gates[3 * H + j]);
        r.c[b * H + j] = f * r.c[b * H + j] + i * g;
        r.h[b * H + j] = o * std::tanh(r.c[b * H + j]);
        r.y[(b * T + t) * H + j] = r.h[b * H + j];
      }
    }
  }
  return r;
}

double max_diff(const Tensor& got, const std::vector<double>& want) {
  EXPECT_EQ(static_cast<size_t>(got.numel()), want.size());
  double d = 0;
  for (size_t i = 0; i < want.size(); ++i)
    d = std::max(d, std::fabs(got.data<float>()[i] - want[i]));
  return d;
}

LstmWeights random_weights(int64_t in, int64_t hidden, uint32_t seed) {
  return {random_tensor({4 * hidden, in}, seed), random_tensor({4 * hidden, hidden}, seed + 1),
          random_tensor({4 * hidden}, seed + 2)};
}

TEST(Lstm, MatchesScalarReferenceFromZeroState) {
  const Tensor x = random_tensor({1, 9, 5}, 1, 1.f);
  const LstmWeights w = random_weights(5, 7, 10);
  Tensor y;
  lstm(cpu(), x, w, false, y);
  EXPECT_EQ(y.shape(), (Shape{1, 9, 7}));
  EXPECT_LT(max_diff(y, reference(x, w, false, nullptr, nullptr).y), 1e-5);
}

TEST(Lstm, BatchReverseAndStateInOut) {
  const Tensor x = random_tensor({3, 11, 6}, 2, 1.f);
  const LstmWeights w = random_weights(6, 16, 20);
  const Tensor h0 = random_tensor({3, 16}, 30), c0 = random_tensor({3, 16}, 31);
  for (bool reverse : {false, true}) {
    for (int threads : {1, 2}) {
      Tensor h = h0.clone(), c = c0.clone(), y;
      lstm(cpu(threads), x, w, reverse, y, &h, &c);
      const RefResult want = reference(x, w, reverse, &h0, &c0);
      EXPECT_LT(max_diff(y, want.y), 1e-5) << "reverse " << reverse;
      EXPECT_LT(max_diff(h, want.h), 1e-5);
      EXPECT_LT(max_diff(c, want.c), 1e-5);
    }
  }
  // Reverse really runs backwards: the last output then depends on one step only.
  Tensor fwd, bwd;
  lstm(cpu(), x, w, false, fwd);
  lstm(cpu(), x, w, true, bwd);
  EXPECT_GT(std::fabs(fwd.data<float>()[10 * 16] - bwd.data<float>()[10 * 16]), 1e-6);
}

TEST(Lstm, EmptyStatesStartFromZerosAndReceiveTheFinalState) {
  const Tensor x = random_tensor({2, 5, 4}, 3, 1.f);
  const LstmWeights w = random_weights(4, 8, 40);
  Tensor h, c, y;
  lstm(cpu(), x, w, false, y, &h, &c);
  const RefResult want = reference(x, w, false, nullptr, nullptr);
  EXPECT_LT(max_diff(h, want.h), 1e-5);
  EXPECT_LT(max_diff(c, want.c), 1e-5);
}

TEST(Lstm, SplittingTheSequenceWithCarriedStateEqualsOneRun) {
  const Tensor x = random_tensor({1, 12, 4}, 4, 1.f);
  const LstmWeights w = random_weights(4, 8, 50);
  Tensor y_all;
  lstm(cpu(), x, w, false, y_all);
  Tensor h, c, y1, y2;
  const Tensor flat = x.reshape({12, 4});
  lstm(cpu(), flat.slice_rows(0, 5).reshape({1, 5, 4}), w, false, y1, &h, &c);
  lstm(cpu(), flat.slice_rows(5, 12).reshape({1, 7, 4}), w, false, y2, &h, &c);
  for (int64_t i = 0; i < 5 * 8; ++i) EXPECT_FLOAT_EQ(y1.data<float>()[i], y_all.data<float>()[i]);
  for (int64_t i = 0; i < 7 * 8; ++i)
    EXPECT_NEAR(y2.data<float>()[i], y_all.data<float>()[5 * 8 + i], 1e-6);
}

TEST(Lstm, RejectsMismatchedShapes) {
  const LstmWeights w = random_weights(4, 8, 60);
  Tensor y;
  EXPECT_THROW(lstm(cpu(), random_tensor({1, 3, 5}, 5), w, false, y), Error);
  Tensor bad_h = random_tensor({2, 8}, 6);
  EXPECT_THROW(lstm(cpu(), random_tensor({1, 3, 4}, 5), w, false, y, &bad_h), Error);
  const LstmWeights wrong{w.w_ih, w.w_hh, random_tensor({31}, 7)};
  EXPECT_THROW(lstm(cpu(), random_tensor({1, 3, 4}, 5), wrong, false, y), Error);
}

// bf16_round of every element.
Tensor bf16_rounded(const Tensor& x) {
  Tensor r = x.clone();
  for (float& v : r.span<float>()) v = bf16_round(v);
  return r;
}

TEST(LstmBf16, InputProjectionEqualsFloat32OnBf16RoundedOperands) {
  if (!bf16_supported()) GTEST_SKIP() << "this CPU has no native bf16";
  const Tensor x = random_tensor({5, 20, 60}, 8, 1.f);
  const LstmWeights w = random_weights(60, 32, 70);
  const LstmWeights wb = w.to_bf16(cpu(), /*recurrent=*/false);
  ASSERT_EQ(wb.w_ih.dtype(), DType::bf16);
  ASSERT_EQ(wb.w_hh.dtype(), DType::f32);
  // bf16 x bf16 products are exact in float32, so only the operands' rounding differs.
  const LstmWeights rounded{bf16_rounded(w.w_ih), w.w_hh, w.bias};
  for (bool reverse : {false, true}) {
    for (int threads : {1, 2}) {
      Tensor y;
      lstm(cpu(threads), x, wb, reverse, y);
      EXPECT_LT(max_diff(y, reference(bf16_rounded(x), rounded, reverse, nullptr, nullptr).y),
                2e-5);
      // ...and that rounding is really there: the float32 result is measurably different.
      EXPECT_GT(max_diff(y, reference(x, w, reverse, nullptr, nullptr).y), 1e-4);
    }
  }
}

TEST(LstmBf16, RecurrentProductsStayCloseToFloat32WithState) {
  if (!bf16_supported()) GTEST_SKIP() << "this CPU has no native bf16";
  const Tensor x = random_tensor({4, 40, 24}, 9, 1.f);
  const LstmWeights w = random_weights(24, 64, 80);
  const LstmWeights wb = w.to_bf16(cpu());
  ASSERT_EQ(wb.w_hh.dtype(), DType::bf16);
  const Tensor h0 = random_tensor({4, 64}, 32), c0 = random_tensor({4, 64}, 33);
  Tensor h = h0.clone(), c = c0.clone(), y;
  lstm(cpu(2), x, wb, true, y, &h, &c);
  // The same recurrence with every bf16 operand rounded: only the summation order differs.
  const LstmWeights rounded{bf16_rounded(w.w_ih), bf16_rounded(w.w_hh), w.bias};
  const RefResult want = reference(bf16_rounded(x), rounded, true, &h0, &c0, true);
  EXPECT_LT(max_diff(y, want.y), 1e-4);
  EXPECT_LT(max_diff(h, want.h), 1e-4);
  EXPECT_LT(max_diff(c, want.c), 1e-4);
  // Against float32 it drifts, but stays near: bf16 keeps 8 significant bits.
  const RefResult exact = reference(x, w, true, &h0, &c0);
  EXPECT_GT(max_diff(y, exact.y), 1e-3);
  EXPECT_LT(max_diff(y, exact.y), 0.1);
}

TEST(LstmBf16, OnlyMatricesMayBeBf16) {
  if (!bf16_supported()) GTEST_SKIP() << "this CPU has no native bf16";
  const LstmWeights w = random_weights(4, 8, 90);
  LstmWeights bad = w.to_bf16(cpu());
  Tensor bias_bf16;
  cast(cpu(), w.bias, DType::bf16, bias_bf16);
  bad.bias = bias_bf16;
  Tensor y;
  EXPECT_THROW(lstm(cpu(), random_tensor({1, 3, 4}, 5), bad, false, y), Error);
  LstmWeights half = w;
  cast(cpu(), w.w_hh, DType::f16, half.w_hh);
  EXPECT_THROW(lstm(cpu(), random_tensor({1, 3, 4}, 5), half, false, y), Error);
}

TEST(Lstm, HalfPrecisionOperandsAreLeftToTheGpuOp) {
  // The CPU's dtype rule must not refuse a GPU call: GpuLstm runs float16 and bfloat16
  // operands through cuda::lstm. Here the call goes on to the device, which fails
  // (no GPU here, or operands on the host where there is one) with a DeviceError.
  const LstmWeights w = random_weights(4, 8, 91);
  LstmWeights half;
  cast(cpu(), w.w_ih, DType::f16, half.w_ih);
  cast(cpu(), w.w_hh, DType::f16, half.w_hh);
  cast(cpu(), w.bias, DType::f16, half.bias);
  Tensor x;
  cast(cpu(), random_tensor({1, 3, 4}, 5), DType::f16, x);
  ExecContext gpu;
  gpu.device = Device::cuda(0);
  Tensor y;
  EXPECT_THROW(lstm(gpu, x, half, false, y), DeviceError);
  EXPECT_THROW(lstm(cpu(), x, half, false, y), Error);  // the CPU has no float16 LSTM
}

TEST(Activation, ReluSigmoidAndMagnitude) {
  Tensor x = Tensor::from_vector({-2.f, -0.f, 0.5f, 3.f}, {2, 2});
  relu(cpu(), x);
  EXPECT_EQ(x.to_vector(), (std::vector<float>{0.f, 0.f, 0.5f, 3.f}));
  Tensor s = Tensor::from_vector({0.f, 2.f, -2.f}, {3});
  sigmoid(cpu(), s);
  EXPECT_FLOAT_EQ(s.data<float>()[0], 0.5f);
  EXPECT_NEAR(s.data<float>()[1], 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
  EXPECT_NEAR(s.data<float>()[1] + s.data<float>()[2], 1.0, 1e-6);
  const Tensor spec = Tensor::from_vector({3.f, 0.f, 4.f, 1.f, 1.f, 2.f, 0.f, 2.f}, {2, 4});
  Tensor mag;
  complex_magnitude(cpu(), spec, mag);
  EXPECT_EQ(mag.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(mag.data<float>()[0], 5.f);
  EXPECT_FLOAT_EQ(mag.data<float>()[1], 1.f);
  EXPECT_FLOAT_EQ(mag.data<float>()[2], 1.f);
  EXPECT_FLOAT_EQ(mag.data<float>()[3], std::sqrt(8.f));
  EXPECT_THROW(complex_magnitude(cpu(), Tensor({3}), mag), Error);
}

}  // namespace
}  // namespace voiceman::ops
