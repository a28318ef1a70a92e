// WhisperDecoder's word-alignment pass: the alignment heads' cross-attention and each
// token's probability for whole sequences, several windows at a time.
#include <algorithm>
#include <array>
#include <cstring>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::models {
namespace {

// A padded pass holds one layer's probabilities for all its sequences at once.
constexpr size_t kWeightsBudget = size_t{256} << 20;
// Logit rows per projection in token_probabilities (float32: 106 MB at 51,866 tokens).
constexpr int64_t kLogitRows = 512;

}  // namespace

AlignmentData WhisperDecoder::align(int32_t source, std::span<const int32_t> sequence,
                                    int32_t text_vocab) {
  const std::array<AlignRequest, 1> one = {
      AlignRequest{source, std::vector<int32_t>(sequence.begin(), sequence.end())}};
  return std::move(align(one, text_vocab).front());
}

std::vector<AlignmentData> WhisperDecoder::align(std::span<const AlignRequest> requests,
                                                 int32_t text_vocab) {
  const auto& c = model_.config();
  if (text_vocab < 0 || text_vocab > c.vocab_size) throw Error("align: text_vocab out of range");
  if (text_vocab == 0) text_vocab = c.vocab_size;
  for (const auto& r : requests) {
    if (r.source < 0 || r.source >= windows_) throw Error("align: source window out of range");
    if (r.sequence.empty()) throw Error("align: empty sequence");
    for (int32_t token : r.sequence)
      if (token < 0 || token >= c.vocab_size) throw Error("align: token out of range");
  }
  const auto frames = static_cast<size_t>(frames_);
  const auto layer_bytes = static_cast<size_t>(c.decoder_heads) * frames * sizeof(float);
  std::vector<AlignmentData> out(requests.size());
  for (size_t i0 = 0, i1 = 0; i0 < requests.size(); i0 = i1) {
    size_t longest = requests[i0].sequence.size();
    for (i1 = i0 + 1;
         pad_runs_ && i1 < requests.size() && requests[i1].source == requests[i1 - 1].source + 1;
         ++i1) {
      const size_t t = std::max(longest, requests[i1].sequence.size());
      if ((i1 - i0 + 1) * t * layer_bytes > kWeightsBudget) break;
      longest = t;
    }
    align_run(requests.subspan(i0, i1 - i0), static_cast<int64_t>(longest), text_vocab,
              std::span(out).subspan(i0, i1 - i0));
  }
  return out;
}

void WhisperDecoder::align_run(std::span<const AlignRequest> run, int64_t t_max, int32_t text_vocab,
                               std::span<AlignmentData> out) {
  const auto& c = model_.config();
  const auto g = static_cast<int64_t>(run.size());
  const int64_t frames = frames_, heads = c.decoder_heads;
  const auto picked_heads = static_cast<int64_t>(c.alignment_heads.size());
  // Each sequence padded with its last token: causal attention keeps the padding out of
  // the real positions, and the pass's rows are sequence b's at b * t_max.
  std::vector<int32_t> tokens;
  tokens.reserve(static_cast<size_t>(g * t_max));
  std::vector<int64_t> base(static_cast<size_t>(g));
  int64_t total = 0;
  for (int64_t b = 0; b < g; ++b) {
    const auto& seq = run[b].sequence;
    tokens.insert(tokens.end(), seq.begin(), seq.end());
    tokens.insert(tokens.end(), static_cast<size_t>(t_max) - seq.size(), seq.back());
    base[b] = total;
    total += picked_heads * static_cast<int64_t>(seq.size()) * frames;
  }
  // Only the heads' planes, cut to each sequence's length, stay: one download.
  Tensor picked({std::max<int64_t>(total, 1)}, DType::f32, model_.device());
  WeightsSink sink;
  sink.layers.assign(static_cast<size_t>(c.decoder_layers), 0);
  for (const auto& [layer, head] : c.alignment_heads) sink.layers[layer] = 1;
  std::vector<int64_t> from, to, widths;
  sink.take = [&](int layer, const Tensor& weights) {  // [g, heads, t_max, frames]
    from.clear();
    to.clear();
    widths.clear();
    for (int64_t b = 0; b < g; ++b) {
      const auto len = static_cast<int64_t>(run[b].sequence.size());
      for (int64_t i = 0; i < picked_heads; ++i) {
        const auto [l, h] = c.alignment_heads[i];
        if (l != layer) continue;
        from.push_back((b * heads + h) * t_max * frames);
        to.push_back(base[b] + i * len * frames);
        widths.push_back(len * frames);
      }
    }
    ops::copy_runs(ctx_, weights, from, picked, to, widths);
  };
  run_sequences(g, run[0].source, tokens, -1, &sink);
  if (!picked.device().is_cpu()) picked = picked.to(Device::cpu(), ctx_);
  for (int64_t b = 0; b < g; ++b) {
    const auto len = static_cast<int64_t>(run[b].sequence.size());
    out[b].weights = Tensor({picked_heads, len, frames});
    std::memcpy(out[b].weights.data<float>(), picked.data<float>() + base[b],
                sizeof(float) * static_cast<size_t>(picked_heads * len * frames));
  }
  token_probabilities(run, t_max, text_vocab, out);
}

void WhisperDecoder::token_probabilities(std::span<const AlignRequest> run, int64_t t_max,
                                         int32_t text_vocab, std::span<AlignmentData> out) {
  // p(seq[i] | seq[<i]) comes from the logits of row b * t_max + i - 1. Those rows are
  // gathered, projected in blocks, and softmaxed where they are; one value per token
  // leaves the device, not rows of 51,866 logits.
  const int64_t d = model_.config().d_model, vocab = vocab_size();
  std::vector<int64_t> from, to, widths;
  std::vector<int32_t> next;
  for (size_t b = 0; b < run.size(); ++b) {
    const auto& seq = run[b].sequence;
    out[b].token_probs.assign(seq.size(), 1.f);
    for (size_t i = 1; i < seq.size(); ++i) {
      from.push_back((static_cast<int64_t>(b) * t_max + static_cast<int64_t>(i) - 1) * d);
      to.push_back(static_cast<int64_t>(next.size()) * d);
      widths.push_back(d);
      next.push_back(seq[i]);
    }
  }
  const auto rows = static_cast<int64_t>(next.size());
  if (rows == 0) return;
  Tensor gathered({rows, d}, hidden_.dtype(), hidden_.device());
  ops::copy_runs(ctx_, hidden_, from, gathered, to, widths);
  Tensor chosen({rows}, DType::f32, hidden_.device());
  for (int64_t r0 = 0; r0 < rows; r0 += kLogitRows) {
    const int64_t r1 = std::min(rows, r0 + kLogitRows);
    model_.decoder_norm_.forward(ctx_, gathered.slice_rows(r0, r1), normed_);
    Tensor projected;
    ops::linear(ctx_, normed_, model_.projection_, projected);
    Tensor logits = float32_logits(projected);  // shares its storage: softmaxed in place
    if (text_vocab < vocab) {
      // The text tokens' columns only, softmaxed on their own.
      Tensor text({r1 - r0, text_vocab}, DType::f32, logits.device());
      from.clear();
      to.clear();
      for (int64_t r = 0; r < r1 - r0; ++r) {
        from.push_back(r * vocab);
        to.push_back(r * text_vocab);
      }
      widths.assign(static_cast<size_t>(r1 - r0), text_vocab);
      ops::copy_runs(ctx_, logits, from, text, to, widths);
      logits = std::move(text);
    }
    ops::softmax(ctx_, logits);
    from.clear();
    to.clear();
    widths.assign(static_cast<size_t>(r1 - r0), 1);
    for (int64_t r = r0; r < r1; ++r) {
      // A token past the text vocabulary reads column 0 here and is given 0 below.
      const int32_t token = next[static_cast<size_t>(r)];
      from.push_back((r - r0) * text_vocab + (token < text_vocab ? token : 0));
      to.push_back(r);
    }
    ops::copy_runs(ctx_, logits, from, chosen, to, widths);
  }
  if (!chosen.device().is_cpu()) chosen = chosen.to(Device::cpu(), ctx_);
  const float* p = chosen.data<float>();
  const int32_t* token = next.data();
  for (auto& data : out)
    for (size_t i = 1; i < data.token_probs.size(); ++i, ++p, ++token)
      data.token_probs[i] = *token < text_vocab ? *p : 0.f;
}

}  // namespace voiceman::models
