// CUDA-versus-CPU parity of every op, in float32, float16 and bfloat16, plus the device
// memory pool. Each test skips when no CUDA device is present (label "gpu"; run by
// scripts/gpu-check.sh on a GPU machine).
//
// Both sides start from the same values: inputs are rounded to the tested dtype first
// and the CPU float32 kernel runs on the rounded values. The error is
// max|gpu - cpu| / max|cpu|; tolerances: float32 1e-4 (summation order only),
// float16 4e-3 and bfloat16 3e-2 (intermediates and outputs rounded to 11 / 8 bits).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "support/gpu_parity.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/cuda/unified_memory.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::ops {
namespace {

using voiceman::testing::cpu_cached_attention;
using voiceman::testing::device_table;
using voiceman::testing::download;
using voiceman::testing::expect_close;
using voiceman::testing::gpu;
using voiceman::testing::kPrecisions;
using voiceman::testing::Precision;
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

class GpuOps : public voiceman::testing::GpuTest {};

TEST_F(GpuOps, Linear) {
  for (const auto& p : kPrecisions) {
    for (int64_t rows : {1, 37}) {
      const Tensor x = rounded(random_tensor({rows, 200}, 1), p.dtype);
      LinearWeight w{rounded(random_tensor({96, 200}, 2, 0.1f), p.dtype),
                     {},
                     rounded(random_tensor({96}, 3), p.dtype)};
      Tensor want, got;
      linear(cpu(), x, w, want);
      const LinearWeight wd{upload(w.weight, p.dtype), {}, upload(w.bias, p.dtype)};
      linear(gpu(), upload(x, p.dtype), wd, got);
      EXPECT_EQ(got.dtype(), p.dtype);
      expect_close(rows == 1 ? "linear (1 row)" : "linear", p, got, want);
      const LinearWeight no_bias{wd.weight, {}, {}};
      LinearWeight cpu_no_bias{w.weight, {}, {}};
      linear(cpu(), x, cpu_no_bias, want);
      linear(gpu(), upload(x, p.dtype), no_bias, got);
      expect_close("linear without bias", p, got, want);
      // Onto a residual stream: the GEMM's epilogue adds the old values.
      for (const LinearWeight* cw : {&w, &cpu_no_bias}) {
        Tensor residual = rounded(random_tensor({rows, 96}, 4, 2.f), p.dtype);
        Tensor residual_d = upload(residual, p.dtype);
        linear_add(cpu(), x, *cw, residual);
        linear_add(gpu(), upload(x, p.dtype), cw == &w ? wd : no_bias, residual_d);
        expect_close(cw == &w ? "linear_add" : "linear_add without bias", p, residual_d, residual);
      }
    }
  }
}

TEST_F(GpuOps, LinearInt8MatchesTheCpuScheme) {
  // n = 96 takes cuBLAS's int8 GEMM; n = 51 (not a multiple of 4) the fallback kernel.
  for (int64_t n : {96, 51}) {
    const Tensor x = random_tensor({9, 256}, 4);
    const Tensor wf = random_tensor({n, 256}, 5, 0.05f);
    LinearWeight q{Tensor({n, 256}, DType::i8), Tensor({n}), random_tensor({n}, 6)};
    primitives::cpu::quantize_rows(wf.data<float>(), static_cast<int>(n), 256,
                                   q.weight.data<int8_t>(), q.scales.data<float>());
    Tensor want, got;
    for (const auto& p : kPrecisions) {
      const Tensor xr = rounded(x, p.dtype);
      const LinearWeight qr{q.weight, q.scales, rounded(q.bias, p.dtype)};
      linear(cpu(), xr, qr, want);
      const LinearWeight qd{q.weight.to(Device::cuda()), q.scales.to(Device::cuda()),
                            upload(q.bias, p.dtype)};
      linear(gpu(), upload(xr, p.dtype), qd, got);
      // Same quantisation and exact int32 sums: float32 should agree to rounding.
      const Precision tight{p.dtype, p.dtype == DType::f32 ? 1e-6 : p.tolerance};
      expect_close(n == 96 ? "linear int8 (cuBLAS)" : "linear int8 (fallback)", tight, got, want);
      Tensor residual = rounded(random_tensor({9, n}, 7, 2.f), p.dtype);
      Tensor residual_d = upload(residual, p.dtype);
      linear_add(cpu(), xr, qr, residual);
      linear_add(gpu(), upload(xr, p.dtype), qd, residual_d);
      expect_close(n == 96 ? "linear_add int8 (cuBLAS)" : "linear_add int8 (fallback)", tight,
                   residual_d, residual);
    }
  }
}

TEST_F(GpuOps, LayerNormGeluAddCast) {
  for (const auto& p : kPrecisions) {
    for (int64_t d : {384, 1280}) {
      const Tensor x = rounded(random_tensor({5, d}, 7, 3.f), p.dtype);
      const Tensor g = rounded(random_tensor({d}, 8), p.dtype),
                   b = rounded(random_tensor({d}, 9), p.dtype);
      Tensor want, got;
      layer_norm(cpu(), x, g, b, 1e-5f, want);
      layer_norm(gpu(), upload(x, p.dtype), upload(g, p.dtype), upload(b, p.dtype), 1e-5f, got);
      expect_close("layer_norm", p, got, want);
    }
    Tensor x = rounded(random_tensor({1000, 33}, 10, 2.f), p.dtype);
    Tensor xd = upload(x, p.dtype);
    gelu(cpu(), x);
    gelu(gpu(), xd);
    expect_close("gelu", p, xd, x);
    const Tensor y = rounded(random_tensor({1000, 33}, 11), p.dtype);
    add(cpu(), x, y);
    add(gpu(), xd, upload(y, p.dtype));
    expect_close("add", p, xd, x);
    Tensor back;
    cast(gpu(), xd, DType::f32, back);
    EXPECT_EQ(back.dtype(), DType::f32);
    expect_close("cast", p, back, x);
  }
  // To its own dtype: a copy, for the integer types too (the CPU's memcpy).
  Tensor ids({5}, DType::i32), ids_back;
  for (int32_t i = 0; i < 5; ++i) ids.data<int32_t>()[i] = 1000 * i - 7;
  cast(gpu(), ids.to(Device::cuda(0)), DType::i32, ids_back);
  const Tensor host = ids_back.to(Device::cpu());
  EXPECT_EQ(std::vector<int32_t>(host.span<int32_t>().begin(), host.span<int32_t>().end()),
            (std::vector<int32_t>{-7, 993, 1993, 2993, 3993}));
}

TEST_F(GpuOps, Softmax) {
  for (const auto& p : kPrecisions) {
    for (bool log : {false, true}) {
      Tensor x = rounded(random_tensor({3, 51865}, 12, 4.f), p.dtype);
      Tensor xd = upload(x, p.dtype);
      softmax(cpu(), x, log);
      softmax(gpu(), xd, log);
      expect_close(log ? "log_softmax (vocab)" : "softmax (vocab)", p, xd, x);
    }
  }
}

TEST_F(GpuOps, Conv1dAndTranspose) {
  for (const auto& p : kPrecisions) {
    for (int stride : {1, 2}) {
      const Tensor x = rounded(random_tensor({2, 8, 30}, 13), p.dtype);
      const Tensor w = rounded(random_tensor({16, 8, 3}, 14, 0.3f), p.dtype);
      const Tensor b = rounded(random_tensor({16}, 15), p.dtype);
      Tensor want, got;
      conv1d(cpu(), x, w, b, stride, 1, want);
      conv1d(gpu(), upload(x, p.dtype), upload(w, p.dtype), upload(b, p.dtype), stride, 1, got);
      expect_close(stride == 1 ? "conv1d stride 1" : "conv1d stride 2", p, got, want);
    }
    const Tensor x = rounded(random_tensor({2, 37, 70}, 16), p.dtype);
    Tensor want, got;
    transpose_last2(cpu(), x, want);
    transpose_last2(gpu(), upload(x, p.dtype), got);
    expect_close("transpose_last2", p, got, want);
  }
}

TEST_F(GpuOps, Embedding) {
  for (const auto& p : kPrecisions) {
    const Tensor table = rounded(random_tensor({50, 24}, 17), p.dtype);
    const std::vector<int32_t> ids = {3, 0, 49, 3, 17};
    Tensor want, got;
    embedding(cpu(), table, ids, want);
    embedding(gpu(), upload(table, p.dtype), ids, got);
    expect_close("embedding", p, got, want);
  }
}

TEST_F(GpuOps, CopyRowsAndRuns) {
  for (const auto& p : kPrecisions) {
    const Tensor src = rounded(random_tensor({6, 50}, 32), p.dtype);
    Tensor want = Tensor::zeros({4, 70}), got = upload(want, p.dtype);
    const Tensor src_d = upload(src, p.dtype);
    copy_rows(cpu(), src, 5, 50, want, 3, 70, 4, 40);
    copy_rows(gpu(), src_d, 5, 50, got, 3, 70, 4, 40);
    const std::vector<int64_t> from = {250, 0, 33}, to = {200, 100, 0}, widths = {50, 7, 1};
    copy_runs(cpu(), src, from, want, to, widths);
    copy_runs(gpu(), src_d, from, got, to, widths);
    expect_close("copy_rows + copy_runs", p, got, want);
  }
}

struct AttentionCase {
  const char* name;
  int64_t batch, tq, tk, heads, dh;
  bool causal, weights;
};

TEST_F(GpuOps, Attention) {
  // dh 64 without weights takes a flash kernel in half/bfloat16 (the mma.sync one, and
  // here also the WMMA one); the others, and float32, the materialised cuBLAS path.
  const AttentionCase cases[] = {
      {"attention encoder (flash)", 2, 150, 150, 6, 64, false, false},
      {"attention causal prompt", 1, 20, 37, 6, 64, true, false},
      // Causal over several blocks and key tiles: the tiles past a block's last visible
      // key are skipped, and the diagonal tiles masked row by row.
      {"attention causal multi-tile (flash)", 1, 150, 150, 6, 64, true, false},
      {"attention causal 100x200 (flash)", 1, 100, 200, 6, 64, true, false},
      // A diagonal offset (41) at which a tile is visible in whole to a warp's row 8 but
      // not to its row 0, so it must still be masked.
      {"attention causal 100x141 (flash)", 1, 100, 141, 2, 64, true, false},
      // Encoder length: 12 blocks of 128 queries (the last one part-filled), 24 key tiles.
      {"attention 1500 frames (flash)", 1, 1500, 1500, 2, 64, false, false},
      {"attention 130 queries 65 keys (flash)", 1, 130, 65, 2, 64, false, false},
      {"attention no keys", 2, 5, 0, 6, 64, false, false},
      {"attention one query", 3, 1, 70, 4, 64, false, false},
      {"attention with weights", 1, 9, 150, 6, 64, false, true},
      {"attention dh 32", 2, 40, 40, 4, 32, true, false},
  };
  const std::pair<const char*, cuda::AttentionKernel> kernels[] = {
      {"", cuda::AttentionKernel::automatic},
      {" [mma.sync, one block per SM]", cuda::AttentionKernel::mma_one_block},
      {" [wmma kernel]", cuda::AttentionKernel::wmma},
      {" [materialized]", cuda::AttentionKernel::materialized}};
  for (const auto& c : cases) {
    for (const auto& p : kPrecisions) {
      const int64_t d = c.heads * c.dh;
      const Tensor q = rounded(random_tensor({c.batch, c.tq, d}, 18), p.dtype);
      const Tensor k = rounded(random_tensor({c.batch, c.tk, d}, 19), p.dtype);
      const Tensor v = rounded(random_tensor({c.batch, c.tk, d}, 20), p.dtype);
      Tensor want, want_w;
      attention(cpu(), q, k, v, static_cast<int>(c.heads), c.causal, want,
                c.weights ? &want_w : nullptr);
      const Tensor qd = upload(q, p.dtype), kd = upload(k, p.dtype), vd = upload(v, p.dtype);
      for (const auto& [suffix, kernel] : kernels) {
        Tensor got, got_w;
        if (*suffix == 0) {  // the op as the models call it
          attention(gpu(), qd, kd, vd, static_cast<int>(c.heads), c.causal, got,
                    c.weights ? &got_w : nullptr);
        } else {
          got = unwritten(want.shape(), p.dtype);
          if (c.weights) got_w = unwritten(want_w.shape(), DType::f32);
          if (!c.tk) got = upload(want, p.dtype);  // the front end writes the zeros
          cuda::attention(gpu(), qd, kd, vd, static_cast<int>(c.heads), c.causal, got,
                          c.weights ? &got_w : nullptr, kernel);
        }
        expect_close((std::string(c.name) + suffix).c_str(), p, got, want);
        if (c.weights) {
          EXPECT_EQ(got_w.dtype(), DType::f32);
          expect_close((std::string("attention weights") + suffix).c_str(), p, got_w, want_w);
        }
      }
    }
  }
}

// The encoder's form: Q, K and V read where the fused projection put them (the flash
// kernel with row pitches), or copied out first (float32, heads other than 64 wide).
TEST_F(GpuOps, PackedAttention) {
  const AttentionCase cases[] = {
      {"packed attention (flash, in place)", 2, 150, 150, 6, 64, false, false},
      {"packed attention causal (flash, in place)", 1, 70, 70, 2, 64, true, false},
      {"packed attention 1500 frames (flash, in place)", 1, 1500, 1500, 2, 64, false, false},
      {"packed attention dh 32 (copied out)", 2, 40, 40, 4, 32, false, false},
      // More sequences than grid.z takes: the materialised path (about 200,000 launches).
      {"packed attention 65,536 sequences (copied out)", 65536, 2, 2, 1, 64, false, false},
  };
  for (const auto& c : cases) {
    for (const auto& p : kPrecisions) {
      const int64_t d = c.heads * c.dh;
      const Tensor qkv = rounded(random_tensor({c.batch, c.tq, 3 * d}, 24), p.dtype);
      Tensor want, got;
      attention_packed(cpu(), qkv, static_cast<int>(c.heads), c.causal, want);
      attention_packed(gpu(), upload(qkv, p.dtype), static_cast<int>(c.heads), c.causal, got);
      expect_close(c.name, p, got, want);
    }
  }
}

TEST_F(GpuOps, CachedAttention) {
  for (const auto& p : kPrecisions) {
    const int64_t slots = 4, capacity = 40, d = 6 * 64;
    const Tensor k = rounded(random_tensor({slots, capacity, d}, 21), p.dtype);
    const Tensor v = rounded(random_tensor({slots, capacity, d}, 22), p.dtype);
    const Tensor q = rounded(random_tensor({3, d}, 23), p.dtype);
    const std::vector<int32_t> index = {2, 0, 2}, lengths = {1, 40, 17};
    Tensor want, got;
    cached_attention(cpu(), q, k, v, index, lengths, 6, want);
    const Tensor kd = upload(k, p.dtype), vd = upload(v, p.dtype), qd = upload(q, p.dtype);
    got = unwritten(want.shape(), p.dtype);
    cached_attention(gpu(), qd, kd, vd, index, lengths, 6, got);
    expect_close("cached_attention", p, got, want);
    // The decoder step's form: the index tables already on the device.
    got = unwritten(want.shape(), p.dtype);
    cached_attention(gpu(), qd, kd, vd, device_table(index), device_table(lengths), 6, got);
    expect_close("cached_attention (device tables)", p, got, want);
    got = unwritten(want.shape(), p.dtype);
    cuda::cached_attention(gpu(), qd, kd, vd, device_table(index), device_table(lengths), 6, got,
                           cuda::CachedAttentionKernel::generic);
    expect_close("cached_attention (generic kernel)", p, got, want);
    // An empty cache is refused as a shape; the kernels would clamp the tables and write
    // nothing.
    const Tensor empty = upload(Tensor({slots, 0, d}), p.dtype);
    EXPECT_THROW(cached_attention(gpu(), qd, empty, empty, device_table(index),
                                  device_table(lengths), 6, got),
                 Error);
  }
}

// The vectorised kernel over a cross cache's 1,500 frames (more keys than a block visits
// at once, and lengths that end mid-step), head widths that it does not take, and beams
// that share a slot.
TEST_F(GpuOps, CachedAttentionLongCachesAndOddHeadWidths) {
  struct Case {
    const char* name;
    int64_t heads, dh, capacity;
    std::vector<int32_t> index, lengths;
  };
  const Case cases[] = {
      {"20 heads of 64, 1500 frames", 20, 64, 1500, {1, 0, 1, 2}, {1500, 1500, 1499, 65}},
      {"2 heads of 128", 2, 128, 300, {0, 1}, {300, 33}},
      {"4 heads of 32", 4, 32, 100, {1, 0}, {100, 1}},
      {"3 heads of 20 (generic)", 3, 20, 70, {0, 1}, {70, 9}},
      // More rows than slots: runs of beams share a block (a run longer than a block takes,
      // one split by its lengths, one with nothing visible).
      {"beams: 20 heads of 64, 1500 frames",
       20,
       64,
       1500,
       {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2},
       {1500, 1500, 1500, 1500, 1500, 700, 700, 700, 700, 700, 700, 700, 700, 700, 700, 1500, 9, 0,
        0}},
      {"beams: 4 heads of 32", 4, 32, 100, {2, 2, 2, 0, 0, 1, 1}, {100, 100, 100, 3, 3, 50, 50}},
  };
  for (const auto& c : cases) {
    for (const auto& p : kPrecisions) {
      const int64_t d = c.heads * c.dh, slots = 3;
      const Tensor k = rounded(random_tensor({slots, c.capacity, d}, 31), p.dtype);
      const Tensor v = rounded(random_tensor({slots, c.capacity, d}, 32), p.dtype);
      const Tensor q =
          rounded(random_tensor({static_cast<int64_t>(c.index.size()), d}, 33), p.dtype);
      // The CPU refuses a length of 0 (a beam case has two); the GPU writes zeros there.
      const Tensor want =
          cpu_cached_attention(q, k, v, c.index, c.lengths, static_cast<int>(c.heads));
      Tensor got = unwritten(want.shape(), p.dtype);
      cached_attention(gpu(), upload(q, p.dtype), upload(k, p.dtype), upload(v, p.dtype),
                       device_table(c.index), device_table(c.lengths), static_cast<int>(c.heads),
                       got);
      SCOPED_TRACE(c.name);
      expect_close("cached_attention", p, got, want);
      if (c.index.size() > static_cast<size_t>(slots)) {  // and one block per row
        got = unwritten(want.shape(), p.dtype);
        cuda::cached_attention(gpu(), upload(q, p.dtype), upload(k, p.dtype), upload(v, p.dtype),
                               device_table(c.index), device_table(c.lengths),
                               static_cast<int>(c.heads), got,
                               cuda::CachedAttentionKernel::one_row);
        expect_close("cached_attention (one block per row)", p, got, want);
      }
    }
  }
}

// The decoder step's other ops with index tables on the device, and the cache writes
// (cached_attention's device tables are checked beside its host tables above).
TEST_F(GpuOps, StepTablesOnTheDeviceAndCacheAppend) {
  for (const auto& p : kPrecisions) {
    const int64_t slots = 4, capacity = 40, d = 6 * 64;
    const Tensor k = rounded(random_tensor({slots, capacity, d}, 21), p.dtype);
    Tensor want, got;
    const Tensor table = rounded(random_tensor({50, 24}, 17), p.dtype);
    const std::vector<int32_t> ids = {3, 0, 49, 3, 17};
    embedding(cpu(), table, ids, want);
    embedding(gpu(), upload(table, p.dtype), device_table(ids), got);
    expect_close("embedding (device tables)", p, got, want);
    // A table with no rows is refused; the kernel would clamp the ids and write nothing.
    EXPECT_THROW(embedding(gpu(), upload(Tensor({0, 24}), p.dtype), device_table(ids), got), Error);

    const Tensor qkv = rounded(random_tensor({3, 3 * d}, 24), p.dtype);
    Tensor cache_want = k.clone(), cache_got = upload(k, p.dtype);
    const std::vector<int32_t> positions = {0, 39, 16};
    cache_append(cpu(), qkv, d, device_table(positions).to(Device::cpu()), cache_want);
    cache_append(gpu(), upload(qkv, p.dtype), d, device_table(positions), cache_got);
    expect_close("cache_append", p, cache_got, cache_want);
    Tensor no_positions = upload(Tensor({3, 0, d}), p.dtype);
    EXPECT_THROW(
        cache_append(gpu(), upload(qkv, p.dtype), d, device_table(positions), no_positions), Error);

    // Beam reorder runs from one table on the device; the last run is clamped at the end.
    const std::vector<int64_t> runs = {2 * capacity * d,
                                       0,
                                       3 * capacity * d + 5,  // from
                                       0,
                                       capacity * d,
                                       2 * capacity * d,  // to
                                       17 * d,
                                       capacity * d,
                                       capacity * d};  // widths
    Tensor run_table({static_cast<int64_t>(2 * runs.size())}, DType::i32);
    std::memcpy(run_table.data<int32_t>(), runs.data(), runs.size() * sizeof(int64_t));
    Tensor moved_want = Tensor::zeros({slots, capacity, d});
    Tensor moved_got = upload(moved_want, p.dtype);
    const std::span<const int64_t> all(runs);
    std::vector<int64_t> clamped(all.begin() + 6, all.end());
    clamped[2] = capacity * d - 5;  // the CPU checks runs; the GPU clamps them
    copy_runs(cpu(), k, all.subspan(0, 3), moved_want, all.subspan(3, 3), clamped);
    copy_runs(gpu(), upload(k, p.dtype), run_table.to(Device::cuda(0)), moved_got);
    expect_close("copy_runs (device table)", p, moved_got, moved_want);
  }
}

// A recorded graph replays the same kernels on new inputs; the temporaries it recorded
// (the int8 linear layer's) stay its own even when this thread allocates in between.
TEST_F(GpuOps, GraphReplaysKeepTheirTemporaries) {
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = gpu();
  ctx.stream = stream.get();
  const Tensor w = random_tensor({96, 128}, 61);
  LinearWeight qw;  // int8 weights: the op quantises x into pool temporaries
  {
    Tensor wq({96, 128}, DType::i8), scales({96});
    primitives::cpu::quantize_rows(w.data<float>(), 96, 128, wq.data<int8_t>(),
                                   scales.data<float>());
    qw = {wq.to(ctx.device), scales.to(ctx.device), {}};
  }
  Tensor x({8, 128}, DType::f16, ctx.device), y({8, 96}, DType::f16, ctx.device);
  auto body = [&](const ExecContext& c) {
    linear(c, x, qw, y);
    gelu(c, y);
  };
  std::string why;
  auto graph = voiceman::cuda::Graph::capture(ctx, body, &why);
  ASSERT_TRUE(graph) << why;
  for (uint32_t round = 0; round < 5; ++round) {
    const Tensor input = rounded(random_tensor({8, 128}, 70 + round), DType::f16);
    x.copy_from(upload(input, DType::f16));
    // Zeroed blocks of the temporaries' sizes, held across the replay: had the graph's
    // temporaries gone back to the pool, these would be them, and the replay would
    // overwrite them.
    std::vector<Tensor> held;
    for (int i = 0; i < 4; ++i) {
      held.push_back(Tensor::zeros({8, 128}, DType::i8, ctx));
      held.push_back(Tensor::zeros({8}, DType::f32, ctx));
      held.push_back(Tensor::zeros({8, 96}, DType::i32, ctx));
    }
    graph->launch(ctx);
    Tensor direct;
    linear(ctx, upload(input, DType::f16), qw, direct);
    gelu(ctx, direct);
    const Tensor a = download(y), b = download(direct);
    EXPECT_EQ(a.to_vector(), b.to_vector()) << "round " << round;
    size_t touched = 0;
    for (const Tensor& t : held) {
      const Tensor h = t.to(Device::cpu());
      for (int64_t i = 0; i < static_cast<int64_t>(h.bytes()); ++i)
        touched += h.data<char>()[i] != 0;
    }
    EXPECT_EQ(touched, 0u) << "round " << round << ": a replay wrote a block the pool lent out";
  }
  // A host copy cannot be recorded: capture reports why instead of recording stale data.
  std::vector<int32_t> ids = {1, 2};
  Tensor table = random_tensor({4, 8}, 62).to(ctx.device), out;
  auto bad = voiceman::cuda::Graph::capture(
      ctx, [&](const ExecContext& c) { embedding(c, table, ids, out); }, &why);
  EXPECT_FALSE(bad);
  EXPECT_NE(why.find("capture"), std::string::npos) << why;
  // The stream still works after the abandoned capture.
  Tensor after;
  EXPECT_NO_THROW(embedding(ctx, table, ids, after));
  // Out of memory while recording is the batch's to back off from: it propagates.
  voiceman::cuda::release_cached(ctx.device);
  voiceman::cuda::set_memory_cap(ctx.device,
                                 voiceman::cuda::memory_stats(ctx.device).reserved + (64 << 20));
  EXPECT_THROW(
      voiceman::cuda::Graph::capture(
          ctx, [&](const ExecContext& c) { Tensor::zeros({1 << 28}, DType::f32, c); }, &why),
      OutOfMemoryError);
  voiceman::cuda::set_memory_cap(ctx.device, 0);
  EXPECT_NO_THROW(embedding(ctx, table, ids, after));
  voiceman::cuda::synchronize(ctx);
}

TEST_F(GpuOps, RunsOnAnOwnedStream) {
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = gpu();
  ctx.stream = stream.get();
  const Tensor x = random_tensor({64, 128}, 24);
  LinearWeight w{random_tensor({32, 128}, 25), {}, random_tensor({32}, 26)};
  Tensor want, got;
  linear(cpu(), x, w, want);
  linear(ctx, x.to(ctx.device), {w.weight.to(ctx.device), {}, w.bias.to(ctx.device)}, got);
  voiceman::cuda::synchronize(ctx);
  expect_close("linear on a stream", kPrecisions[0], got, want);
}

TEST_F(GpuOps, OperandsOnAnotherDeviceAreRejected) {
  Tensor x = random_tensor({2, 3}, 27);  // on the CPU
  EXPECT_THROW(softmax(gpu(), x), DeviceError);
  Tensor y;
  EXPECT_THROW(add(gpu(), y = x.to(Device::cuda()), x), DeviceError);
  // Mixed dtypes are an error, not a silent reinterpretation.
  Tensor a = upload(x, DType::f16), b = upload(x, DType::bf16);
  EXPECT_THROW(add(gpu(), a, b), Error);
}

TEST_F(GpuOps, MemoryPoolCapsAndReuses) {
  const Device dev = Device::cuda(0);
  voiceman::cuda::release_cached(dev);
  const auto before = voiceman::cuda::memory_stats(dev);
  EXPECT_GT(before.total, 0u);
  EXPECT_LE(before.cap, before.total);
  {
    Tensor t({1 << 20}, DType::f32, dev);  // 4 MiB
    EXPECT_GE(voiceman::cuda::memory_stats(dev).in_use, before.in_use + (4u << 20));
  }
  const auto freed = voiceman::cuda::memory_stats(dev);
  { Tensor again({1 << 20}, DType::f32, dev); }
  EXPECT_EQ(voiceman::cuda::memory_stats(dev).reserved, freed.reserved);  // the block was reused
  // A hard cap just above what is held: the next big tensor is a typed error, not an abort.
  voiceman::cuda::set_memory_cap(dev, freed.reserved + (64u << 20));
  EXPECT_THROW(Tensor({int64_t{1} << 28}, DType::f32, dev), OutOfMemoryError);  // 1 GiB
  EXPECT_NO_THROW(Tensor({1 << 20}, DType::f32, dev));  // and the pool still works
  voiceman::cuda::set_memory_cap(dev, 0);
  const uint64_t cap = voiceman::cuda::memory_stats(dev).cap;
  EXPECT_GT(cap, freed.reserved + (64u << 20));
  // The default is the card's rule (unified_memory.h): 95% of its memory, or on an
  // integrated GPU (GB10) 80% of what the system has available.
  const auto probe = voiceman::cuda::probe_gpus();
  if (probe.find(0) && probe.find(0)->integrated) {
    const SystemMemory system = system_memory();
    EXPECT_LE(cap, voiceman::cuda::default_memory_cap(before.total, false, nullptr));
    EXPECT_LE(cap, 0.85 * static_cast<double>(system.available + freed.reserved));
  } else {
    EXPECT_EQ(cap, voiceman::cuda::default_memory_cap(before.total, false, nullptr));
  }
  // More than the device has: OutOfMemoryError from the driver path as well.
  voiceman::cuda::set_memory_cap(dev, before.total * 4);
  EXPECT_THROW(Tensor({static_cast<int64_t>(before.total / 2)}, DType::f32, dev), OutOfMemoryError);
  voiceman::cuda::set_memory_cap(dev, 0);
}

TEST_F(GpuOps, CachedBlocksGoBackToTheThreadThatAllocatedThem) {
  const Device dev = Device::cuda(0);
  voiceman::cuda::release_cached(dev);
  const void* mine = nullptr;
  { mine = Tensor({1 << 20}, DType::f32, dev).data<float>(); }  // allocated here, now cached
  const void* theirs = nullptr;
  std::thread([&] {
    voiceman::cuda::set_device(dev);
    Tensor t({1 << 20}, DType::f32, dev);
    theirs = t.data<float>();
  }).join();
  // Another engine thread (another stream) must not get a block this thread's queued
  // kernels may still use; this thread gets its own block back.
  EXPECT_NE(theirs, mine);
  Tensor again({1 << 20}, DType::f32, dev);
  EXPECT_EQ(again.data<float>(), mine);
  voiceman::cuda::release_cached(dev);
}

TEST_F(GpuOps, CopiesAndZerosOrderedOnAStream) {
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = gpu();
  ctx.stream = stream.get();
  // 8 MiB: over the small staging slots, so the large pinned staging carries it.
  const Tensor x = random_tensor({2048, 1024}, 28);
  const Tensor up = x.to(ctx.device, ctx);
  Tensor doubled = Tensor::zeros({2048, 1024}, DType::f32, ctx);
  add(ctx, doubled, up);
  add(ctx, doubled, up);
  const Tensor back = doubled.to(Device::cpu(), ctx);  // waits for the stream
  const std::vector<float> a = x.to_vector(), b = back.to_vector();
  size_t wrong = 0;
  for (size_t i = 0; i < a.size(); ++i) wrong += b[i] != 2 * a[i];
  EXPECT_EQ(wrong, 0u);
  EXPECT_THROW(x.to(Device::cuda(0), cpu()), DeviceError) << "the stream must be the GPU's";
}

TEST_F(GpuOps, DownloadsLandInTheStreamsBufferAfterItsWork) {
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = gpu();
  ctx.stream = stream.get();
  // 20 MB, as beam 5 over 20 windows' logits, then smaller and larger: queued work must
  // be finished, and the buffer is reused until a larger download needs more.
  const void* first = nullptr;
  for (const int64_t rows : {100, 40, 160}) {
    const Tensor x = random_tensor({rows, 51866}, 29 + static_cast<uint32_t>(rows));
    const Tensor up = x.to(ctx.device, ctx);
    Tensor doubled = Tensor::zeros({rows, 51866}, DType::f32, ctx);
    add(ctx, doubled, up);
    add(ctx, doubled, up);
    const auto* host = static_cast<const float*>(
        voiceman::cuda::download(ctx, doubled.data<float>(), doubled.bytes()));
    const std::vector<float> a = x.to_vector();
    size_t wrong = 0;
    for (size_t i = 0; i < a.size(); ++i) wrong += host[i] != 2 * a[i];
    EXPECT_EQ(wrong, 0u) << rows << " rows";
    if (rows == 100) first = host;
    if (rows == 40) {
      EXPECT_EQ(host, first) << "a smaller download reuses the buffer";
    }
  }
}

}  // namespace
}  // namespace voiceman::ops
