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

void cached_attention(const ExecContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int32_t> kv_index, std::span<const int32_t> lengths,
                      int num_heads, Tensor& out) {
  const int64_t rows = q.dim(0), model = q.dim(1), capacity = k.dim(1);
  const int64_t dh = model / num_heads;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  // Groups of rows reading the same cache entries (same slot, same length).
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
    // Per (group, head): scores = Q K^T and out = P V as two small GEMMs. Keys and values
    // are read once for all the group's queries (the beams of one window), and the GEMM
    // vectorises over keys instead of reducing each dh-long dot product on its own.
#pragma omp parallel num_threads(ctx.threads) if (work * model > 65536)
  {
    std::vector<float> scores(widest * static_cast<size_t>(capacity));
    std::vector<float> qbuf(widest * static_cast<size_t>(dh));
    std::vector<float> obuf(widest * static_cast<size_t>(dh));
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < pairs; ++p) {
      const auto& grp = groups[static_cast<size_t>(p / num_heads)];
      const int64_t h = p % num_heads;
      const int g = static_cast<int>(grp.size());
      const int len = lengths[grp.front()];
      for (int i = 0; i < g; ++i)
        std::memcpy(qbuf.data() + i * dh, q.data<float>() + grp[i] * model + h * dh,
                    sizeof(float) * dh);
      const int64_t base = kv_index[grp.front()] * capacity * model + h * dh;
      prim::sgemm(false, true, g, len, static_cast<int>(dh), scale, qbuf.data(),
                  static_cast<int>(dh), k.data<float>() + base, static_cast<int>(model), 0.f,
                  scores.data(), len, 1);
      softmax_rows(scores.data(), g, len, /*causal=*/false);
      prim::sgemm(false, false, g, static_cast<int>(dh), len, 1.f, scores.data(), len,
                  v.data<float>() + base, static_cast<int>(model), 0.f, obuf.data(),
                  static_cast<int>(dh), 1);
      for (int i = 0; i < g; ++i)
        std::memcpy(out.data<float>() + grp[i] * model + h * dh, obuf.data() + i * dh,
                    sizeof(float) * dh);
    }
  }
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
