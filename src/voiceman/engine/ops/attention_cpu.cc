#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "voiceman/engine/ops/ops_cpu.h"
#include "voiceman/engine/primitives/cpu_bf16.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/engine/primitives/fast_math.h"
#include "voiceman/engine/primitives/simd.h"

namespace voiceman::ops::cpu {

namespace prim = primitives::cpu;

namespace {

VOICEMAN_MULTIVERSION void softmax_rows(float* scores, int64_t tq, int64_t tk, bool causal) {
  for (int64_t i = 0; i < tq; ++i) {
    float* row = scores + i * tk;
    const int64_t visible = causal ? tk - tq + i + 1 : tk;
    primitives::softmax_inplace(row, visible);
    for (int64_t j = visible; j < tk; ++j) row[j] = 0.f;
  }
}

// Few queries (decoder steps): plain loops, parallel over (batch, head) pairs. BLAS is
// not called from inside the parallel region.
VOICEMAN_MULTIVERSION void attention_small(const float* q, const float* k, const float* v,
                                           float* out, float* weights, int64_t batch, int64_t tq,
                                           int64_t tk, int64_t model, int num_heads, bool causal,
                                           int threads) {
  const int64_t dh = model / num_heads;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  const int64_t pairs = batch * num_heads;
#pragma omp parallel num_threads(threads) if (pairs * tq * tk * dh > 32768)
  {
    std::vector<float> scores(static_cast<size_t>(tq * tk));
#pragma omp for schedule(static)
    for (int64_t p = 0; p < pairs; ++p) {
      const int64_t b = p / num_heads, h = p % num_heads;
      const float* qp = q + b * tq * model + h * dh;
      const float* kp = k + b * tk * model + h * dh;
      const float* vp = v + b * tk * model + h * dh;
      float* op = out + b * tq * model + h * dh;
      for (int64_t i = 0; i < tq; ++i)
        for (int64_t j = 0; j < tk; ++j) {
          float acc = 0.f;
          for (int64_t d = 0; d < dh; ++d) acc += qp[i * model + d] * kp[j * model + d];
          scores[i * tk + j] = acc * scale;
        }
      softmax_rows(scores.data(), tq, tk, causal);
      if (weights) std::memcpy(weights + p * tq * tk, scores.data(), sizeof(float) * tq * tk);
      for (int64_t i = 0; i < tq; ++i) {
        float* orow = op + i * model;
        std::fill(orow, orow + dh, 0.f);
        for (int64_t j = 0; j < tk; ++j) {
          const float w = scores[i * tk + j];
          const float* vrow = vp + j * model;
          for (int64_t d = 0; d < dh; ++d) orow[d] += w * vrow[d];
        }
      }
    }
  }
}

}  // namespace

// Heads stay interleaved in memory ([T, H*Dh]); a leading dimension of H*Dh lets each
// (batch, head) product read its slice in place, with no transposes.
void attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               int num_heads, bool causal, Tensor& out, Tensor* weights) {
  const int64_t batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), model = q.dim(2);
  const int64_t dh = model / num_heads;
  float* w_out = weights ? weights->data<float>() : nullptr;
  if (tq < 16) {
    attention_small(q.data<float>(), k.data<float>(), v.data<float>(), out.data<float>(), w_out,
                    batch, tq, tk, model, num_heads, causal, ctx.threads);
    return;
  }
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  if (ctx.bf16_attention && !causal && !w_out && prim::bf16_gemm_supported()) {
    for (int64_t b = 0; b < batch; ++b)
      prim::attention_bf16(q.data<float>() + b * tq * model, k.data<float>() + b * tk * model,
                           v.data<float>() + b * tk * model, out.data<float>() + b * tq * model, tq,
                           tk, model, num_heads, scale, ctx.threads);
    return;
  }
  std::vector<float> scores(static_cast<size_t>(tq * tk));
  for (int64_t p = 0; p < batch * num_heads; ++p) {
    const int64_t b = p / num_heads, h = p % num_heads;
    const float* qp = q.data<float>() + b * tq * model + h * dh;
    const float* kp = k.data<float>() + b * tk * model + h * dh;
    const float* vp = v.data<float>() + b * tk * model + h * dh;
    float* op = out.data<float>() + b * tq * model + h * dh;
    prim::sgemm(false, true, static_cast<int>(tq), static_cast<int>(tk), static_cast<int>(dh),
                scale, qp, static_cast<int>(model), kp, static_cast<int>(model), 0.f, scores.data(),
                static_cast<int>(tk), ctx.threads);
    softmax_rows(scores.data(), tq, tk, causal);
    if (w_out) std::memcpy(w_out + p * tq * tk, scores.data(), sizeof(float) * tq * tk);
    prim::sgemm(false, false, static_cast<int>(tq), static_cast<int>(dh), static_cast<int>(tk), 1.f,
                scores.data(), static_cast<int>(tk), vp, static_cast<int>(model), 0.f, op,
                static_cast<int>(model), ctx.threads);
  }
}

namespace {

// One (slot, head)'s keys and values as the GEMMs read them: `len` rows `ld` floats apart.
struct KvRows {
  const float* k;
  const float* v;
  int ld;
};

// Groups the rows that read the same cache entries (same slot and length: the beams of one
// window) and, per (group, head), runs scores = Q K^T and out = P V as two small GEMMs.
// Keys and values are read once for all the group's queries, and the GEMM vectorises over
// keys instead of reducing each dh-long dot product on its own. fetch(slot, head, len,
// kbuf, vbuf) gives the keys and values, in place or written to the thread's buffers.
template <typename Fetch>
void cached_attention_groups(const ExecContext& ctx, const Tensor& q,
                             std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                             int num_heads, int64_t capacity, Tensor& out, const Fetch& fetch) {
  const int64_t rows = q.dim(0), model = q.dim(1);
  const int64_t dh = model / num_heads;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  std::vector<std::vector<int64_t>> groups;
  {
    std::vector<int64_t> order(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) order[static_cast<size_t>(r)] = r;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return kv_index[a] != kv_index[b] ? kv_index[a] < kv_index[b] : lengths[a] < lengths[b];
    });
    for (int64_t r : order) {
      if (groups.empty() || kv_index[groups.back().front()] != kv_index[r] ||
          lengths[groups.back().front()] != lengths[r])
        groups.emplace_back();
      groups.back().push_back(r);
    }
  }
  size_t widest = 1;
  for (const auto& grp : groups) widest = std::max(widest, grp.size());
  const int64_t pairs = static_cast<int64_t>(groups.size()) * num_heads;
  int64_t work = 0;
  for (int32_t len : lengths) work += len;
#pragma omp parallel num_threads(ctx.threads) if (work * model > 65536)
  {
    std::vector<float> scores(widest * static_cast<size_t>(capacity));
    std::vector<float> qbuf(widest * static_cast<size_t>(dh));
    std::vector<float> obuf(widest * static_cast<size_t>(dh));
    std::vector<float> kbuf, vbuf;
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < pairs; ++p) {
      const auto& grp = groups[static_cast<size_t>(p / num_heads)];
      const int64_t h = p % num_heads;
      const int g = static_cast<int>(grp.size());
      const int len = lengths[grp.front()];
      for (int i = 0; i < g; ++i)
        std::memcpy(qbuf.data() + i * dh, q.data<float>() + grp[i] * model + h * dh,
                    sizeof(float) * dh);
      const KvRows kv = fetch(int64_t{kv_index[grp.front()]}, h, len, kbuf, vbuf);
      prim::sgemm(false, true, g, len, static_cast<int>(dh), scale, qbuf.data(),
                  static_cast<int>(dh), kv.k, kv.ld, 0.f, scores.data(), len, 1);
      softmax_rows(scores.data(), g, len, /*causal=*/false);
      prim::sgemm(false, false, g, static_cast<int>(dh), len, 1.f, scores.data(), len, kv.v, kv.ld,
                  0.f, obuf.data(), static_cast<int>(dh), 1);
      for (int i = 0; i < g; ++i)
        std::memcpy(out.data<float>() + grp[i] * model + h * dh, obuf.data() + i * dh,
                    sizeof(float) * dh);
    }
  }
}

// An int8 cache's first len entries of (slot, head), as float rows of dh in buf.
void dequantize_rows(const QuantizedCache& c, int64_t slot, int64_t h, int64_t dh, int len,
                     std::vector<float>& buf) {
  const int64_t capacity = c.data.dim(1), model = c.data.dim(2), heads = c.scales.dim(2);
  buf.resize(static_cast<size_t>(len) * static_cast<size_t>(dh));
  const int8_t* data = c.data.data<int8_t>() + slot * capacity * model + h * dh;
  const float* scales = c.scales.data<float>() + slot * capacity * heads + h;
  for (int64_t j = 0; j < len; ++j) {
    const float scale = scales[j * heads];
    for (int64_t i = 0; i < dh; ++i)
      buf[static_cast<size_t>(j * dh + i)] = static_cast<float>(data[j * model + i]) * scale;
  }
}

}  // namespace

void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out) {
  const int64_t capacity = k.dim(1), model = q.dim(1), dh = model / num_heads;
  cached_attention_groups(
      ctx, q, kv_index, lengths, num_heads, capacity, out,
      [&](int64_t slot, int64_t h, int, auto&, auto&) {
        const int64_t base = slot * capacity * model + h * dh;
        return KvRows{k.data<float>() + base, v.data<float>() + base, static_cast<int>(model)};
      });
}

void cached_attention(const ExecContext& ctx, const Tensor& q, const QuantizedCache& k,
                      const QuantizedCache& v, std::span<const int32_t> kv_index,
                      std::span<const int32_t> lengths, int num_heads, Tensor& out) {
  const int64_t dh = q.dim(1) / num_heads;
  cached_attention_groups(
      ctx, q, kv_index, lengths, num_heads, k.data.dim(1), out,
      [&](int64_t slot, int64_t h, int len, std::vector<float>& kbuf, std::vector<float>& vbuf) {
        dequantize_rows(k, slot, h, dh, len, kbuf);
        dequantize_rows(v, slot, h, dh, len, vbuf);
        return KvRows{kbuf.data(), vbuf.data(), static_cast<int>(dh)};
      });
}

void embedding(const ExecContext& ctx, const Tensor& table, const Tensor& scales,
               std::span<const int32_t> ids, Tensor& y) {
  const int64_t d = table.dim(1);
  float* out = y.data<float>();
  if (table.dtype() == DType::f32) {
    for (size_t i = 0; i < ids.size(); ++i)
      std::memcpy(out + i * d, table.data<float>() + ids[i] * d, sizeof(float) * d);
    return;
  }
  // Divided, not multiplied by a reciprocal: the same floats as the model file's own
  // dequantisation (ModelFile::to_float).
  for (size_t i = 0; i < ids.size(); ++i) {
    const int8_t* q = table.data<int8_t>() + ids[i] * d;
    const float scale = scales.data<float>()[ids[i]];
    for (int64_t j = 0; j < d; ++j) out[i * d + j] = static_cast<float>(q[j]) / scale;
  }
}

}  // namespace voiceman::ops::cpu
