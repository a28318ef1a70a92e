// Each op against a naive reference on random data, and the device dispatch.
#include "voiceman/engine/ops/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "voiceman/core/errors.h"
#include "voiceman/engine/primitives/cpu_bf16.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops {
namespace {

Tensor random_tensor(Shape shape, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  Tensor t(std::move(shape));
  for (float& v : t.span<float>()) v = dist(rng);
  return t;
}

float max_abs_diff(const Tensor& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < b.size(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b[i]));
  return m;
}

ExecContext cpu(int threads = 2) {
  ExecContext ctx;
  ctx.threads = threads;
  return ctx;
}

template <typename Call>
void expect_refused(const char* form, const char* needle, Call&& call) {
  try {
    call();
    ADD_FAILURE() << form << ": no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << form << ": " << e.what();
  }
}

TEST(Ops, LinearFloatMatchesNaive) {
  const Tensor x = random_tensor({7, 33}, 1);
  LinearWeight w{random_tensor({5, 33}, 2), {}, random_tensor({5}, 3)};
  Tensor y;
  linear(cpu(), x, w, y);
  std::vector<float> ref(7 * 5);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 5; ++j) {
      double acc = w.bias.data<float>()[j];
      for (int k = 0; k < 33; ++k)
        acc += x.data<float>()[i * 33 + k] * w.weight.data<float>()[j * 33 + k];
      ref[i * 5 + j] = static_cast<float>(acc);
    }
  EXPECT_EQ(y.shape(), (Shape{7, 5}));
  EXPECT_LT(max_abs_diff(y, ref), 1e-4f);
}

TEST(Ops, LinearInt8IsCloseToFloat) {
  const Tensor x = random_tensor({4, 256}, 4);
  const Tensor wf = random_tensor({64, 256}, 5, 0.05f);
  LinearWeight f{wf, {}, {}};
  LinearWeight q{Tensor({64, 256}, DType::i8), Tensor({64}), {}};
  primitives::cpu::quantize_rows(wf.data<float>(), 64, 256, q.weight.data<int8_t>(),
                                 q.scales.data<float>());
  Tensor yf, yq;
  linear(cpu(), x, f, yf);
  linear(cpu(), x, q, yq);
  double num = 0, den = 0;
  for (int64_t i = 0; i < yf.numel(); ++i) {
    num += std::pow(yf.data<float>()[i] - yq.data<float>()[i], 2);
    den += std::pow(yf.data<float>()[i], 2);
  }
  EXPECT_LT(std::sqrt(num / den), 0.02);  // int8 weights and activations: ~1% error
  EXPECT_GT(std::sqrt(num / den), 0.0);   // and it really did quantise
}

TEST(Ops, LayerNormAndGelu) {
  Tensor x = random_tensor({3, 16}, 6, 3.f);
  const Tensor g = random_tensor({16}, 7), b = random_tensor({16}, 8);
  Tensor y;
  layer_norm(cpu(), x, g, b, 1e-5f, y);
  for (int r = 0; r < 3; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < 16; ++i) mean += x.data<float>()[r * 16 + i];
    mean /= 16;
    for (int i = 0; i < 16; ++i) var += std::pow(x.data<float>()[r * 16 + i] - mean, 2);
    var /= 16;
    for (int i = 0; i < 16; ++i) {
      const double want =
          (x.data<float>()[r * 16 + i] - mean) / std::sqrt(var + 1e-5) * g.data<float>()[i] +
          b.data<float>()[i];
      EXPECT_NEAR(y.data<float>()[r * 16 + i], want, 1e-4);
    }
  }
  Tensor z = Tensor::from_vector({-3.f, -1.f, 0.f, 0.5f, 2.f}, {5});
  gelu(cpu(), z);
  const float want[] = {-0.0040496f, -0.1586553f, 0.f, 0.3457312f, 1.9544997f};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(z.data<float>()[i], want[i], 1e-5);
}

// Equal input windows give bitwise-equal outputs at every step: the last window of a
// recording is mostly zero padding, and pyannote's instance norms grow last-bit
// differences between its steps into errors of order one (oneDNN's AVX2 sgemm gave 4 of
// 7975 sinc filterbank steps other values).
TEST(Ops, Conv1dGivesEqualOutputsForEqualInputWindows) {
  struct Case {
    int cin, cout, kernel, stride, pad, t_in;
  };
  for (const Case cs : {Case{1, 80, 251, 10, 0, 80000}, Case{80, 60, 5, 1, 0, 2658},
                        Case{80, 384, 3, 2, 1, 3000}}) {
    // A constant signal per channel, with one impulse at the start.
    Tensor x({1, cs.cin, cs.t_in});
    for (int c = 0; c < cs.cin; ++c) {
      float* row = x.data<float>() + static_cast<ptrdiff_t>(c) * cs.t_in;
      std::fill_n(row, cs.t_in, -0.0035f * static_cast<float>(c + 1));
      row[0] = 283.f;
    }
    const Tensor w = random_tensor({cs.cout, cs.cin, cs.kernel}, 21),
                 b = random_tensor({cs.cout}, 22);
    Tensor y;
    conv1d(cpu(), x, w, b, cs.stride, cs.pad, y);
    const int64_t t_out = y.dim(2);
    // Steps whose window lies inside the constant part.
    const int64_t first = (cs.pad + 1 + cs.stride - 1) / cs.stride + 1;
    const int64_t last = (cs.t_in + cs.pad - cs.kernel) / cs.stride;
    ASSERT_LT(first, last);
    for (int o = 0; o < cs.cout; ++o) {
      const float* row = y.data<float>() + o * t_out;
      for (int64_t t = first; t <= last; ++t)
        ASSERT_EQ(row[t], row[first]) << "channel " << o << " step " << t << " of " << t_out
                                      << " (kernel " << cs.kernel << ")";
    }
  }
}

// Rows of no values are nothing to do, on every device (the CPU kernels divided the
// element count by a width of 0: SIGFPE).
TEST(Ops, LayerNormAndSoftmaxOverRowsOfNoValues) {
  Tensor x({3, 0}), y;
  layer_norm(cpu(), x, Tensor({0}), Tensor({0}), 1e-5f, y);
  EXPECT_EQ(y.shape(), (Shape{3, 0}));
  softmax(cpu(), x, false);
  softmax(cpu(), x, true);
  EXPECT_EQ(x.shape(), (Shape{3, 0}));
}

TEST(Ops, SoftmaxAndLogSoftmax) {
  Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 1000.f, 1000.f, 1000.f}, {2, 3});
  Tensor l = x.clone();
  softmax(cpu(), x);
  softmax(cpu(), l, true);
  EXPECT_NEAR(x.data<float>()[2], 0.66524096f, 1e-6);
  EXPECT_NEAR(x.data<float>()[4], 1.f / 3, 1e-6);
  EXPECT_NEAR(l.data<float>()[0], std::log(0.09003057f), 1e-5);
}

TEST(Ops, Conv1dMatchesNaive) {
  // Padding wider than the kernel's half and inputs shorter than the kernel included.
  for (const int t_in : {11, 4}) {
    for (const int kernel : {1, 3, 5}) {
      const Tensor x = random_tensor({2, 3, t_in}, 9), w = random_tensor({4, 3, kernel}, 10),
                   b = random_tensor({4}, 11);
      for (const int stride : {1, 2, 3}) {
        for (const int pad : {0, 1, 3}) {
          const int t_out = (t_in + 2 * pad - kernel) / stride + 1;
          if (t_out <= 0) continue;
          Tensor y;
          conv1d(cpu(), x, w, b, stride, pad, y);
          ASSERT_EQ(y.shape(), (Shape{2, 4, t_out}));
          std::vector<float> ref(2 * 4 * t_out);
          for (int n = 0; n < 2; ++n)
            for (int o = 0; o < 4; ++o)
              for (int t = 0; t < t_out; ++t) {
                double acc = b.data<float>()[o];
                for (int c = 0; c < 3; ++c)
                  for (int k = 0; k < kernel; ++k) {
                    const int src = t * stride + k - pad;
                    if (src >= 0 && src < t_in)
                      acc += w.data<float>()[(o * 3 + c) * kernel + k] *
                             x.data<float>()[(n * 3 + c) * t_in + src];
                  }
                ref[(n * 4 + o) * t_out + t] = static_cast<float>(acc);
              }
          EXPECT_LT(max_abs_diff(y, ref), 1e-4f)
              << "t_in " << t_in << " kernel " << kernel << " stride " << stride << " pad " << pad;
        }
      }
    }
  }
}

// Naive multi-head attention for one batch item: out[i] = softmax(q_i k^T / sqrt(dh)) v.
std::vector<float> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                                   bool causal) {
  const int64_t b_n = q.dim(0), tq = q.dim(1), tk = k.dim(1), d = q.dim(2), dh = d / heads;
  std::vector<float> out(q.numel());
  for (int64_t b = 0; b < b_n; ++b)
    for (int h = 0; h < heads; ++h)
      for (int64_t i = 0; i < tq; ++i) {
        const int64_t visible = causal ? tk - tq + i + 1 : tk;
        std::vector<double> s(visible);
        double mx = -1e30, sum = 0;
        for (int64_t j = 0; j < visible; ++j) {
          double acc = 0;
          for (int64_t e = 0; e < dh; ++e)
            acc += q.data<float>()[(b * tq + i) * d + h * dh + e] *
                   k.data<float>()[(b * tk + j) * d + h * dh + e];
          s[j] = acc / std::sqrt(static_cast<double>(dh));
          mx = std::max(mx, s[j]);
        }
        for (auto& v_ : s) sum += (v_ = std::exp(v_ - mx));
        for (int64_t e = 0; e < dh; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < visible; ++j)
            acc += s[j] / sum * v.data<float>()[(b * tk + j) * d + h * dh + e];
          out[(b * tq + i) * d + h * dh + e] = static_cast<float>(acc);
        }
      }
  return out;
}

TEST(Ops, LinearAddEqualsLinearThenAdd) {
  const Tensor x = random_tensor({7, 33}, 1);
  const LinearWeight w{random_tensor({5, 33}, 2), {}, random_tensor({5}, 3)};
  Tensor product, want = random_tensor({7, 5}, 4);
  Tensor got = random_tensor({7, 5}, 4);
  linear(cpu(), x, w, product);
  add(cpu(), want, product);
  linear_add(cpu(), x, w, got);
  EXPECT_EQ(got.to_vector(), want.to_vector());
  Tensor wrong = random_tensor({7, 4}, 4);
  EXPECT_THROW(linear_add(cpu(), x, w, wrong), Error);
  Tensor empty;
  EXPECT_THROW(linear_add(cpu(), x, w, empty), Error);
  // In place is refused on every device (a GPU GEMM would read x while writing it); a
  // neighbouring view of the same storage is fine.
  Tensor both = random_tensor({8, 5}, 5);
  const LinearWeight square{random_tensor({5, 5}, 6), {}, {}};
  Tensor top = both.slice_rows(0, 4), top_again = both.slice_rows(0, 4),
         bottom = both.slice_rows(4, 8), across = both.slice_rows(3, 7);
  for (Tensor* out : {&top_again, &across})
    expect_refused("in place", "overlaps the input", [&] { linear_add(cpu(), top, square, *out); });
  Tensor product_top;
  linear(cpu(), top, square, product_top);
  add(cpu(), product_top, bottom);
  linear_add(cpu(), top, square, bottom);
  EXPECT_EQ(bottom.to_vector(), product_top.to_vector());
}

TEST(Ops, AttentionLargeAndSmallPathsMatchNaive) {
  for (int64_t tq : {1, 3, 40}) {  // small (< 16 queries) and BLAS paths
    for (bool causal : {false, true}) {
      const Tensor q = random_tensor({2, tq, 24}, 12), k = random_tensor({2, 40, 24}, 13),
                   v = random_tensor({2, 40, 24}, 14);
      Tensor out, weights;
      attention(cpu(), q, k, v, 4, causal, out, &weights);
      EXPECT_LT(max_abs_diff(out, naive_attention(q, k, v, 4, causal)), 1e-4f)
          << "tq " << tq << " causal " << causal;
      EXPECT_EQ(weights.shape(), (Shape{2, 4, tq, 40}));
      double row = 0;
      for (int j = 0; j < 40; ++j) row += weights.data<float>()[j];
      EXPECT_NEAR(row, 1.0, 1e-5);
    }
  }
}

TEST(Ops, PackedAttentionEqualsAttentionOnTheThreeBlocks) {
  for (bool causal : {false, true}) {
    const int64_t batch = 2, t = 30, d = 24;
    const Tensor qkv = random_tensor({batch, t, 3 * d}, 15);
    Tensor q({batch, t, d}), k({batch, t, d}), v({batch, t, d});
    for (int64_t r = 0; r < batch * t; ++r)
      for (int64_t c = 0; c < d; ++c) {
        q.data<float>()[r * d + c] = qkv.data<float>()[r * 3 * d + c];
        k.data<float>()[r * d + c] = qkv.data<float>()[r * 3 * d + d + c];
        v.data<float>()[r * d + c] = qkv.data<float>()[r * 3 * d + 2 * d + c];
      }
    Tensor want, got;
    attention(cpu(), q, k, v, 4, causal, want);
    attention_packed(cpu(), qkv, 4, causal, got);
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(got.to_vector(), want.to_vector()) << "causal " << causal;
  }
  Tensor out;
  EXPECT_THROW(attention_packed(cpu(), random_tensor({1, 4, 25}, 16), 4, false, out), Error);
  EXPECT_THROW(attention_packed(cpu(), random_tensor({1, 4, 24}, 16), 3, false, out), Error);
}

TEST(Ops, AttentionWithoutKeysGivesZeros) {
  // The GPU must agree (GpuOps.Attention "no keys"): whatever `out` held is replaced.
  for (int64_t tq : {3, 40}) {  // small and BLAS paths
    const Tensor q = random_tensor({2, tq, 24}, 12);
    const Tensor none({2, 0, 24}, DType::f32);
    Tensor out = random_tensor({2, tq, 24}, 13);
    const char* storage = out.data<char>();
    attention(cpu(), q, none, none, 4, /*causal=*/false, out);
    ASSERT_EQ(out.shape(), q.shape());
    EXPECT_EQ(out.data<char>(), storage) << "written in place, as every op's output";
    for (float x : out.to_vector()) ASSERT_EQ(x, 0.f) << "tq " << tq;
  }
}

TEST(Ops, Bf16EncoderAttentionIsCloseToFloat32) {
  // int8_bfloat16's encoder path: bf16 products, float32 softmax. Where the CPU lacks
  // native bf16 the flag must fall back to the float32 path, exactly.
  const Tensor q = random_tensor({2, 64, 48}, 21), k = random_tensor({2, 64, 48}, 22),
               v = random_tensor({2, 64, 48}, 23);
  ExecContext fast = cpu();
  fast.bf16_attention = true;
  Tensor out;
  attention(fast, q, k, v, 4, false, out);
  const std::vector<float> ref = naive_attention(q, k, v, 4, false);
  const float diff = max_abs_diff(out, ref);
  if (primitives::cpu::bf16_gemm_supported()) {
    EXPECT_LT(diff, 3e-2f);  // bf16 keeps 8 significant bits
    EXPECT_GT(diff, 0.f);    // and it did take the bf16 path
  } else {
    EXPECT_LT(diff, 1e-4f);
  }
  // The causal (decoder) case never uses bf16.
  Tensor causal_out;
  attention(fast, q, k, v, 4, true, causal_out);
  EXPECT_LT(max_abs_diff(causal_out, naive_attention(q, k, v, 4, true)), 1e-4f);
}

TEST(Ops, CachedAttentionRowsSharingASlotEqualRowsAlone) {
  // Beams of one window share its cache slot and length: computed as one group, each row
  // must still be its own attention.
  const Tensor k = random_tensor({3, 50, 32}, 31), v = random_tensor({3, 50, 32}, 32);
  const Tensor q = random_tensor({6, 32}, 33);
  const int32_t slots[] = {2, 2, 0, 2, 1, 2}, lengths[] = {50, 50, 30, 50, 7, 40};
  Tensor together;
  cached_attention(cpu(), q, k, v, slots, lengths, 4, together);
  for (int r = 0; r < 6; ++r) {
    Tensor qr({1, 32}), alone;
    std::copy_n(q.data<float>() + r * 32, 32, qr.data<float>());
    cached_attention(cpu(), qr, k, v, std::span<const int32_t>(slots + r, 1),
                     std::span<const int32_t>(lengths + r, 1), 4, alone);
    for (int e = 0; e < 32; ++e)
      EXPECT_NEAR(together.data<float>()[r * 32 + e], alone.data<float>()[e], 1e-6f) << r;
  }
}

TEST(Ops, CachedAttentionMatchesFullAttentionPerRow) {
  // Two cache slots with different lengths; each row must equal plain attention over its prefix.
  const Tensor k = random_tensor({2, 10, 16}, 15), v = random_tensor({2, 10, 16}, 16);
  const Tensor q = random_tensor({3, 16}, 17);
  const int32_t slots[] = {1, 0, 1}, lengths[] = {7, 10, 2};
  Tensor out;
  cached_attention(cpu(), q, k, v, slots, lengths, 2, out);
  for (int r = 0; r < 3; ++r) {
    const int64_t len = lengths[r];
    Tensor qr({1, 1, 16}), kr({1, len, 16}), vr({1, len, 16});
    std::copy_n(q.data<float>() + r * 16, 16, qr.data<float>());
    std::copy_n(k.data<float>() + slots[r] * 160, len * 16, kr.data<float>());
    std::copy_n(v.data<float>() + slots[r] * 160, len * 16, vr.data<float>());
    const auto ref = naive_attention(qr, kr, vr, 2, false);
    for (int e = 0; e < 16; ++e) EXPECT_NEAR(out.data<float>()[r * 16 + e], ref[e], 1e-5);
  }
}

Tensor int32_table(std::vector<int32_t> values) {
  Tensor t({static_cast<int64_t>(values.size())}, DType::i32);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t;
}

TEST(Ops, IndexTablesAsTensorsEqualHostTables) {
  // The decoder's step passes its tables as tensors (uploaded once per step on a GPU).
  const Tensor k = random_tensor({3, 20, 16}, 41), v = random_tensor({3, 20, 16}, 42);
  const Tensor q = random_tensor({4, 16}, 43), table = random_tensor({30, 16}, 44);
  const std::vector<int32_t> slots = {2, 0, 2, 1}, lengths = {20, 3, 11, 1};
  Tensor a, b;
  cached_attention(cpu(), q, k, v, slots, lengths, 2, a);
  cached_attention(cpu(), q, k, v, int32_table(slots), int32_table(lengths), 2, b);
  EXPECT_EQ(max_abs_diff(b, a.to_vector()), 0.f);
  const std::vector<int32_t> ids = {29, 0, 7, 7};
  embedding(cpu(), table, ids, a);
  embedding(cpu(), table, int32_table(ids), b);
  ASSERT_EQ(b.shape(), (Shape{4, 16}));
  EXPECT_EQ(max_abs_diff(b, a.to_vector()), 0.f);
  // On the CPU the tensor tables are checked like host tables.
  EXPECT_THROW(embedding(cpu(), table, int32_table({30}), b), Error);
  EXPECT_THROW(
      cached_attention(cpu(), q, k, v, int32_table({2, 0, 3, 1}), int32_table(lengths), 2, b),
      Error);
  EXPECT_THROW(cached_attention(cpu(), q, k, v, int32_table({2, 0}), int32_table({1, 1}), 2, b),
               Error);                                                     // one per row
  EXPECT_THROW(embedding(cpu(), table, random_tensor({4}, 1), b), Error);  // not int32
}

// call() throws an Error whose message holds needle.
// Rows to attend over a cache with no slots or no positions: refused as a shape, in every
// form (a GPU's kernels would otherwise clamp the tables and return without writing).
TEST(Ops, CachedAttentionRefusesAnEmptyCache) {
  const Tensor q = random_tensor({2, 16}, 45);
  const std::vector<int32_t> slots = {0, 0}, lengths = {1, 1};
  for (const Shape& shape : {Shape{0, 20, 16}, Shape{3, 0, 16}}) {
    const Tensor k(shape), v(shape);
    Tensor out;
    expect_refused("host tables", "empty cache",
                   [&] { cached_attention(cpu(), q, k, v, slots, lengths, 2, out); });
    expect_refused("tensor tables", "empty cache", [&] {
      cached_attention(cpu(), q, k, v, int32_table(slots), int32_table(lengths), 2, out);
    });
    QuantizedCache qk{Tensor(shape, DType::i8), Tensor({shape[0], shape[1], 2}, DType::f32)};
    expect_refused("int8 cache", "empty cache",
                   [&] { cached_attention(cpu(), q, qk, qk, slots, lengths, 2, out); });
  }
  // No rows: nothing to attend, nothing refused.
  Tensor none;
  cached_attention(cpu(), Tensor({0, 16}), Tensor({0, 20, 16}), Tensor({0, 20, 16}),
                   std::span<const int32_t>(), std::span<const int32_t>(), 2, none);
  EXPECT_EQ(none.numel(), 0);
}

// Ids into a table with no rows: refused in both forms (a GPU's kernel clamps device ids).
TEST(Ops, EmbeddingRefusesAnEmptyTable) {
  const Tensor table({0, 16});
  const std::vector<int32_t> ids = {0, 0, 0};
  Tensor y;
  expect_refused("host ids", "empty table", [&] { embedding(cpu(), table, ids, y); });
  expect_refused("tensor ids", "empty table",
                 [&] { embedding(cpu(), table, int32_table(ids), y); });
  embedding(cpu(), table, std::span<const int32_t>(), y);  // no ids: nothing refused
  EXPECT_EQ(y.numel(), 0);
}

TEST(Ops, EmbeddingDequantisesTheRowsOfAnInt8Table) {
  // A tied int8 projection serves as the table: row r is q / scales[r], in float32.
  const std::vector<int8_t> q = {127, -128, 0, 5, -7, 64, 1, -1, 100};
  const std::vector<float> s = {127.f, 0.5f, 3.f};
  Tensor table({3, 3}, DType::i8), scales({3}, DType::f32);
  std::copy(q.begin(), q.end(), table.data<int8_t>());
  std::copy(s.begin(), s.end(), scales.data<float>());
  const std::vector<int32_t> ids = {2, 0, 2, 1};
  Tensor a, b;
  embedding(cpu(), table, scales, ids, a);
  ASSERT_EQ(a.dtype(), DType::f32);
  ASSERT_EQ(a.shape(), (Shape{4, 3}));
  std::vector<float> want;
  for (const int32_t id : ids)
    for (int j = 0; j < 3; ++j) want.push_back(static_cast<float>(q[(id * 3) + j]) / s[id]);
  EXPECT_EQ(a.to_vector(), want);
  embedding(cpu(), table, scales, int32_table(ids), b);
  EXPECT_EQ(b.to_vector(), want);
  // Scales go with int8 tables only, one per row.
  EXPECT_THROW(embedding(cpu(), table, ids, b), Error);
  EXPECT_THROW(embedding(cpu(), table, Tensor({2}, DType::f32), ids, b), Error);
  EXPECT_THROW(embedding(cpu(), random_tensor({3, 3}, 1), scales, ids, b), Error);
  EXPECT_THROW(embedding(cpu(), Tensor({3, 3}, DType::f16), ids, b), Error);
  EXPECT_THROW(embedding(cpu(), table, scales, std::vector<int32_t>{3}, b), Error);
}

TEST(Ops, CacheAppendWritesEachRowAtItsPosition) {
  // src rows hold [q | k | v]; k goes to cache slot r at positions[r].
  const Tensor src = random_tensor({3, 12}, 51);
  Tensor cache = Tensor::zeros({4, 5, 4});
  cache_append(cpu(), src, 4, int32_table({0, 4, 2}), cache);
  const float* c = cache.data<float>();
  for (int r = 0; r < 4; ++r)
    for (int p = 0; p < 5; ++p)
      for (int e = 0; e < 4; ++e) {
        const int at[] = {0, 4, 2};
        const float want = r < 3 && p == at[r] ? src.data<float>()[r * 12 + 4 + e] : 0.f;
        EXPECT_EQ(c[(r * 5 + p) * 4 + e], want) << r << " " << p << " " << e;
      }
  EXPECT_THROW(cache_append(cpu(), src, 4, int32_table({0, 5, 2}), cache), Error);  // past it
  EXPECT_THROW(cache_append(cpu(), src, 9, int32_table({0, 1, 2}), cache), Error);  // columns
  EXPECT_THROW(cache_append(cpu(), src, 4, int32_table({0, 1}), cache), Error);     // rows
  Tensor small = Tensor::zeros({2, 5, 4});
  EXPECT_THROW(cache_append(cpu(), src, 4, int32_table({0, 1, 2}), small), Error);  // slots
  Tensor empty({4, 0, 4});
  expect_refused("no positions", "empty cache", [&] {
    cache_append(cpu(), src, 4, int32_table({0, 0, 0}), empty);
  });
}

Tensor runs_table(const std::vector<int64_t>& from, const std::vector<int64_t>& to,
                  const std::vector<int64_t>& widths) {
  std::vector<int64_t> all(from);
  all.insert(all.end(), to.begin(), to.end());
  all.insert(all.end(), widths.begin(), widths.end());
  Tensor t({static_cast<int64_t>(2 * all.size())}, DType::i32);
  std::memcpy(t.data<int32_t>(), all.data(), all.size() * sizeof(int64_t));
  return t;
}

TEST(Ops, CopyRunsFromATableTensorEqualsHostRuns) {
  // One uploaded table serves every layer's cache reorder.
  const Tensor src = random_tensor({6, 50}, 32);
  const std::vector<int64_t> from = {250, 0, 33}, to = {200, 100, 0}, widths = {50, 7, 1};
  Tensor want = Tensor::zeros({4, 70}), got = Tensor::zeros({4, 70});
  copy_runs(cpu(), src, from, want, to, widths);
  copy_runs(cpu(), src, runs_table(from, to, widths), got);
  EXPECT_EQ(max_abs_diff(got, want.to_vector()), 0.f);
  EXPECT_THROW(copy_runs(cpu(), src, runs_table({299}, {0}, {2}), got), Error);  // past src
  EXPECT_THROW(copy_runs(cpu(), src, runs_table({0}, {279}, {2}), got), Error);  // past dst
  EXPECT_THROW(copy_runs(cpu(), src, Tensor({5}, DType::i32), got), Error);      // not 6 * n
  EXPECT_NO_THROW(copy_runs(cpu(), src, Tensor({0}, DType::i32), got));          // no runs
  // A slice one int32 in holds the same runs, but not where the GPU can read int64s.
  const Tensor table = runs_table(from, to, widths);
  Tensor shifted({table.numel() + 1}, DType::i32);
  std::memcpy(shifted.data<int32_t>() + 1, table.data<int32_t>(), table.bytes());
  EXPECT_THROW(copy_runs(cpu(), src, shifted.slice_rows(1, table.numel() + 1), got), Error);
}

// Products over nothing (no input features, channels or taps) are the bias on the CPU
// and a cuBLAS error on a GPU: refused on every device. So are a conv1d stride or padding
// that make no sense, in place, or an input shorter than the kernel.
TEST(Ops, EmptyProductsAndBadConvolutionsAreRefused) {
  Tensor y;
  const LinearWeight none{random_tensor({4, 0}, 1), {}, random_tensor({4}, 2)};
  expect_refused("linear", "has no input features", [&] {
    linear(cpu(), random_tensor({3, 0}, 3), none, y);
  });
  Tensor residual = random_tensor({3, 4}, 4);
  expect_refused("linear_add", "has no input features", [&] {
    linear_add(cpu(), random_tensor({3, 0}, 3), none, residual);
  });
  linear(cpu(), random_tensor({0, 6}, 5), LinearWeight{random_tensor({4, 6}, 6), {}, {}}, y);
  EXPECT_EQ(y.shape(), (Shape{0, 4})) << "no rows is still fine";

  const Tensor x = random_tensor({2, 3, 10}, 7), w = random_tensor({5, 3, 3}, 8),
               b = random_tensor({5}, 9);
  expect_refused("conv1d no channels", "no input channels or taps", [&] {
    conv1d(cpu(), random_tensor({2, 0, 10}, 7), random_tensor({5, 0, 3}, 8), b, 1, 1, y);
  });
  expect_refused("conv1d no taps", "no input channels or taps", [&] {
    conv1d(cpu(), x, random_tensor({5, 3, 0}, 8), b, 1, 1, y);
  });
  expect_refused("conv1d stride 0", "bad stride", [&] { conv1d(cpu(), x, w, b, 0, 1, y); });
  expect_refused("conv1d padding -1", "bad stride", [&] { conv1d(cpu(), x, w, b, 1, -1, y); });
  expect_refused("conv1d short", "too small", [&] {
    conv1d(cpu(), random_tensor({2, 3, 2}, 7), w, b, 1, 0, y);
  });
  Tensor same = x;
  expect_refused("conv1d in place", "must differ", [&] { conv1d(cpu(), same, w, b, 1, 1, same); });
  conv1d(cpu(), random_tensor({2, 3, 3}, 7), w, b, 1, 0, y);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 1})) << "an input as long as the kernel gives one frame";

  expect_refused("conv2d", "no input channels or taps", [&] {
    conv2d(cpu(), random_tensor({1, 2, 6, 6}, 10), random_tensor({4, 2, 3, 0}, 11), {}, 1, 1, y);
  });
  const LstmWeights empty_input{random_tensor({8, 0}, 12), random_tensor({8, 2}, 13),
                                random_tensor({8}, 14)};
  expect_refused("lstm", "no input features or units", [&] {
    lstm(cpu(), random_tensor({1, 4, 0}, 15), empty_input, false, y, nullptr, nullptr);
  });
}

TEST(Ops, ShapeErrorsAreReported) {
  Tensor y;
  LinearWeight w{random_tensor({5, 8}, 1), {}, {}};
  EXPECT_THROW(linear(cpu(), random_tensor({2, 7}, 2), w, y), Error);
  EXPECT_THROW(attention(cpu(), random_tensor({1, 2, 6}, 3), random_tensor({1, 2, 8}, 4),
                         random_tensor({1, 2, 8}, 5), 2, false, y),
               Error);
}

// Sizes the GEMM libraries refuse get BLAS's meaning on every CPU backend: nothing to
// write without rows or columns, C = beta C without a depth.
TEST(Primitives, GemmsOverEmptySizesFollowBlas) {
  namespace prim = primitives::cpu;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a(12, 1.f), b(12, 1.f), c(6, nan);
  prim::sgemm(false, true, 0, 3, 4, 1.f, a.data(), 4, b.data(), 4, 0.f, c.data(), 3, 1);
  prim::sgemm(false, true, 2, 0, 4, 1.f, a.data(), 4, b.data(), 4, 0.f, c.data(), 3, 1);
  for (float v : c) EXPECT_TRUE(std::isnan(v)) << "no rows or no columns: nothing written";
  prim::sgemm(false, true, 2, 3, 0, 1.f, a.data(), 0, b.data(), 0, 0.f, c.data(), 3, 1);
  EXPECT_EQ(c, std::vector<float>(6, 0.f)) << "beta 0 overwrites";
  c.assign(6, 1.5f);
  prim::sgemm(false, true, 2, 3, 0, 1.f, a.data(), 0, b.data(), 0, 2.f, c.data(), 3, 1);
  EXPECT_EQ(c, std::vector<float>(6, 3.f));
  const std::vector<int8_t> qa(8, 1), qb(12, 1);
  const std::vector<float> scales(3, 1.f);
  c.assign(6, nan);
  prim::gemm_s8(2, 3, 0, qa.data(), scales.data(), qb.data(), scales.data(), c.data(), 1);
  EXPECT_EQ(c, std::vector<float>(6, 0.f));
  prim::gemm_s8(0, 3, 4, qa.data(), scales.data(), qb.data(), scales.data(), c.data(), 1);
  EXPECT_EQ(c, std::vector<float>(6, 0.f));
}

TEST(Primitives, HalfConversionRoundTrips) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 0.1f}) {
    const float back = primitives::cpu::half_to_float(primitives::cpu::float_to_half(f));
    EXPECT_NEAR(back, f, std::fabs(f) * 1e-3f) << f;
  }
  EXPECT_TRUE(std::isinf(primitives::cpu::half_to_float(0x7c00)));
  EXPECT_EQ(primitives::cpu::bf16_to_float(0x3f80), 1.f);
}

}  // namespace
}  // namespace voiceman::ops
