#include "voiceman/engine/models/whisper_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/runtime.h"
#endif

namespace voiceman::models {
namespace {

// Marks select_rows' graph keys apart from the step's (which start with the row count).
constexpr uintptr_t kReorderKey = ~uintptr_t{0};

}  // namespace

WhisperDecoder::WhisperDecoder(const WhisperModel& model, const ExecContext& ctx,
                               const Tensor& encoded)
    : model_(model),
      ctx_(ctx),
      windows_(encoded.dim(0)),
      frames_(encoded.rank() == 3 ? encoded.dim(1) : 0),
      pad_runs_(!ctx.device.is_cpu()),
      graphs_(ctx, model.step_graphs_failed_) {
  const auto& c = model.config();
  if (encoded.rank() != 3 || encoded.dim(2) != c.d_model)
    throw Error("decoder: encoder states must be [batch, frames, " + std::to_string(c.d_model) +
                "]");
  cross_k_.resize(c.decoder_layers);
  cross_v_.resize(c.decoder_layers);
  const bool int8 = model.decoder_options().int8_cross_kv;
  if (int8) {
    cross_kq_.resize(c.decoder_layers);
    cross_vq_.resize(c.decoder_layers);
  }
  for (int l = 0; l < c.decoder_layers; ++l) {
    model.decoder_layers_[l].cross_attention.project_memory(ctx_, encoded, cross_k_[l],
                                                            cross_v_[l]);
    if (!int8) continue;
    // Layer by layer, so that one layer's float keys and values are held at a time.
    for (auto [x, q] :
         {std::pair{&cross_k_[l], &cross_kq_[l]}, std::pair{&cross_v_[l], &cross_vq_[l]}}) {
      Tensor flat = x->reshape({windows_ * frames_, c.d_model});
      ops::quantize_heads(ctx_, flat, c.decoder_heads, *q);
      q->data = q->data.reshape({windows_, frames_, c.d_model});
      q->scales = q->scales.reshape({windows_, frames_, c.decoder_heads});
      *x = Tensor();
    }
  }
  k_cache_.resize(c.decoder_layers);
  v_cache_.resize(c.decoder_layers);
}

void WhisperDecoder::ensure_capacity(int64_t rows, int64_t length) {
  const int64_t d = model_.config().d_model;
  const int64_t have_rows = k_cache_[0].empty() ? 0 : k_cache_[0].dim(0);
  const int64_t have_len = k_cache_[0].empty() ? 0 : k_cache_[0].dim(1);
  if (rows <= have_rows && length <= have_len) return;
  // Grow geometrically so long decodes reallocate O(log n) times.
  const int64_t new_rows = std::max(rows, have_rows);
  const int64_t new_len = std::min<int64_t>(model_.config().max_target_positions,
                                            std::max(length, std::max<int64_t>(64, 2 * have_len)));
  for (auto* caches : {&k_cache_, &v_cache_}) {
    for (Tensor& cache : *caches) {
      Tensor grown = Tensor::zeros({new_rows, new_len, d}, model_.dtype(), ctx_);
      if (have_rows)
        ops::copy_rows(ctx_, cache, 0, have_len * d, grown, 0, new_len * d, have_rows,
                       have_len * d);
      cache = std::move(grown);
    }
  }
  cache_scratch_ = Tensor();  // the next select_rows sizes it for the new caches
  reserve_step(new_rows);
}

void WhisperDecoder::reserve_step(int64_t rows) {
  const auto& c = model_.config();
  const int64_t d = c.d_model;
  const int64_t ffn = model_.decoder_layers_[0].ffn.fc1.out_features();
  const DType dt = model_.dtype();
  const Device dev = model_.device();
  step_tokens_ = Tensor();  // views would make resize reallocate
  step_index_ = layers::StepIndex{};
  step_table_.resize({6 * rows}, DType::i32, dev);
  reorder_table_.resize({12 * rows}, DType::i32, dev);
  for (Tensor* t : {&step_hidden_, &step_positions_, &step_normed_, &step_ws_.normed, &step_ws_.q,
                    &step_ws_.context})
    t->resize({rows, d}, dt, dev);
  step_ws_.qkv.resize({rows, 3 * d}, dt, dev);
  step_ws_.hidden.resize({rows, ffn}, dt, dev);
  step_logits_.resize({rows, static_cast<int64_t>(c.vocab_size)}, dt, dev);
}

StepGraphs::Key WhisperDecoder::step_buffers() const {
  auto address = [](const Tensor& t) {
    return t.empty() ? uintptr_t{0} : reinterpret_cast<uintptr_t>(t.data<char>());
  };
  StepGraphs::Key key;
  key.push_back(static_cast<uintptr_t>(rows()));
  for (const auto* caches : {&k_cache_, &v_cache_})
    for (const Tensor& cache : *caches) key.push_back(address(cache));
  for (const Tensor* t :
       {&step_table_, &step_hidden_, &step_positions_, &step_normed_, &step_logits_,
        &step_ws_.normed, &step_ws_.qkv, &step_ws_.q, &step_ws_.context, &step_ws_.hidden})
    key.push_back(address(*t));
  // The cache capacity sets the attention kernel's launch shape.
  key.push_back(static_cast<uintptr_t>(k_cache_[0].dim(1)));
  return key;
}

void WhisperDecoder::run_sequences(int64_t batch, int32_t first_source,
                                   std::span<const int32_t> tokens, int64_t first_slot,
                                   const WeightsSink* sink) {
  const auto& c = model_.config();
  const int64_t rows = static_cast<int64_t>(tokens.size()), t = rows / batch;
  if (batch < 1 || t * batch != rows || t < 1)
    throw Error("decoder: sequences of unequal or zero length");
  if (t > c.max_target_positions)
    throw Error("decoder: sequence longer than the model's positions");
  if (first_source < 0 || first_source + batch > windows_)
    throw Error("decoder: source window out of range");
  ops::embedding(ctx_, model_.embeddings_, model_.embedding_scales_, tokens, hidden_);
  if (batch == 1) {
    ops::add(ctx_, hidden_, model_.decoder_positions_.slice_rows(0, t));
  } else {
    // Every sequence starts at position 0: gather the position rows, one run per sequence.
    std::vector<int32_t> ids(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) ids[static_cast<size_t>(r)] = static_cast<int32_t>(r % t);
    ops::embedding(ctx_, model_.decoder_positions_, ids, positions_);
    ops::add(ctx_, hidden_, positions_);
  }
  for (int l = 0; l < c.decoder_layers; ++l) {
    const auto& layer = model_.decoder_layers_[l];
    if (first_slot >= 0) {
      layer.self_attention.forward(ctx_, hidden_, batch, true, ws_, &k_cache_[l], &v_cache_[l],
                                   first_slot);
    } else {
      layer.self_attention.forward(ctx_, hidden_, batch, true, ws_);
    }
    const bool wanted = sink && sink->layers[l];
    Tensor weights;
    if (cross_kq_.empty()) {
      layer.cross_attention.forward(ctx_, hidden_, batch, cross_k_[l], cross_v_[l], first_source,
                                    ws_, wanted ? &weights : nullptr);
    } else {
      dequantize_windows(cross_kq_[l], first_source, batch, cross_k_scratch_);
      dequantize_windows(cross_vq_[l], first_source, batch, cross_v_scratch_);
      layer.cross_attention.forward(ctx_, hidden_, batch, cross_k_scratch_, cross_v_scratch_, 0,
                                    ws_, wanted ? &weights : nullptr);
    }
    if (wanted) sink->take(l, weights);
    layer.ffn.forward(ctx_, hidden_, ws_);
  }
}

void WhisperDecoder::dequantize_windows(const ops::QuantizedCache& cache, int64_t first,
                                        int64_t count, Tensor& out) {
  const auto& c = model_.config();
  const ops::QuantizedCache part{
      cache.data.slice_rows(first, first + count).reshape({count * frames_, c.d_model}),
      cache.scales.slice_rows(first, first + count).reshape({count * frames_, c.decoder_heads})};
  ops::dequantize_heads(ctx_, part, model_.dtype(), out);
  out = out.reshape({count, frames_, c.d_model});
}

void WhisperDecoder::logits_for(const Tensor& hidden_rows, std::vector<float>& logits) {
  model_.decoder_norm_.forward(ctx_, hidden_rows, normed_);
  Tensor out;
  ops::linear(ctx_, normed_, model_.projection_, out);
  download_logits(out, logits);
}

const Tensor& WhisperDecoder::float32_logits(const Tensor& logits) {
  if (logits.dtype() == DType::f32) return logits;
  ops::cast(ctx_, logits, DType::f32, logits_f32_);
  return logits_f32_;
}

std::span<const float> WhisperDecoder::host_logits(const Tensor& logits) {
  // A GPU casts to float32 itself: the host does not convert 100 rows x 51,866 halves per
  // step on one thread.
  const Tensor* src = &float32_logits(logits);
  const size_t count = static_cast<size_t>(src->numel());
  if (src->device().is_cpu()) return {src->data<float>(), count};
#ifdef VOICEMAN_CUDA
  // Pinned memory, kept by the stream from batch to batch: beam 5 over 20 windows
  // downloads 20 MB per step.
  return {static_cast<const float*>(cuda::download(ctx_, src->data<float>(), src->bytes())), count};
#else
  throw DeviceError("decoder: logits on " + src->device().str() + " in a build without CUDA");
#endif
}

void WhisperDecoder::download_logits(const Tensor& device_logits, std::vector<float>& logits) {
  const std::span<const float> host = host_logits(device_logits);
  logits.assign(host.begin(), host.end());
}

void WhisperDecoder::start(const std::vector<std::vector<int32_t>>& prompts,
                           std::span<const int32_t> source, std::span<const int32_t> sot_index,
                           std::vector<float>& last_logits, std::vector<float>& sot_logits) {
  const int64_t n = static_cast<int64_t>(prompts.size());
  const int64_t d = model_.config().d_model, vocab = vocab_size();
  if (static_cast<int64_t>(source.size()) != n || static_cast<int64_t>(sot_index.size()) != n)
    throw Error("decoder start: prompts, sources and sot indices differ in length");
  int64_t longest = 1;
  for (const auto& p : prompts) {
    if (p.empty()) throw Error("decoder start: empty prompt");
    longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  }
  for (int32_t s : source)
    if (s < 0 || s >= windows_) throw Error("decoder start: source window out of range");
  lengths_.assign(n, 0);
  sources_.assign(source.begin(), source.end());
  ensure_capacity(n, longest + 1);
  // Rows: the last position of every prompt, then the SOT position of those that ask.
  // Runs of prompts over consecutive windows (a batch's windows) go through the decoder
  // together. Without padding a run's prompts share one length (chunk mode's always do);
  // with it, each is padded with its last token to the run's longest (seek mode's previous
  // text differs per window). Causal attention keeps the padding out of the real
  // positions, and a row's later steps overwrite its cached padding.
  Tensor last({n, d}, model_.dtype(), model_.device());
  std::vector<int64_t> sot_rows;
  Tensor sot_hidden({n, d}, model_.dtype(), model_.device());
  std::vector<int32_t> tokens;
  std::vector<int64_t> from, to, widths;
  auto gather = [&](Tensor& dst) {
    ops::copy_runs(ctx_, hidden_, from, dst, to, widths);
    from.clear();
    to.clear();
    widths.clear();
  };
  auto take = [&](int64_t row, int64_t dst_row) {
    from.push_back(row * d);
    to.push_back(dst_row * d);
    widths.push_back(d);
  };
  for (int64_t i0 = 0, i1 = 0; i0 < n; i0 = i1) {
    size_t t = prompts[i0].size();
    for (i1 = i0 + 1;
         i1 < n && source[i1] == source[i1 - 1] + 1 && (pad_runs_ || prompts[i1].size() == t); ++i1)
      t = std::max(t, prompts[i1].size());
    tokens.clear();
    for (int64_t i = i0; i < i1; ++i) {
      tokens.insert(tokens.end(), prompts[i].begin(), prompts[i].end());
      tokens.insert(tokens.end(), t - prompts[i].size(), prompts[i].back());
    }
    const auto t_run = static_cast<int64_t>(t);
    run_sequences(i1 - i0, source[i0], tokens, i0, nullptr);
    for (int64_t i = i0; i < i1; ++i) {
      const auto len = static_cast<int64_t>(prompts[i].size());
      take((i - i0) * t_run + len - 1, i);
      lengths_[i] = static_cast<int32_t>(len);
    }
    gather(last);
    for (int64_t i = i0; i < i1; ++i) {
      if (sot_index[i] >= 0 && sot_index[i] < lengths_[i]) {
        take((i - i0) * t_run + sot_index[i], static_cast<int64_t>(sot_rows.size()));
        sot_rows.push_back(i);
      }
    }
    if (!from.empty()) gather(sot_hidden);
  }
  logits_for(last, last_logits);
  if (!sot_rows.empty()) {
    std::vector<float> sot;
    logits_for(sot_hidden.slice_rows(0, static_cast<int64_t>(sot_rows.size())), sot);
    sot_logits.resize(static_cast<size_t>(n * vocab));
    for (size_t j = 0; j < sot_rows.size(); ++j)
      std::copy_n(sot.begin() + static_cast<int64_t>(j) * vocab, vocab,
                  sot_logits.begin() + sot_rows[j] * vocab);
  }
}

void WhisperDecoder::select_rows(std::span<const int32_t> src) {
  const int64_t n = static_cast<int64_t>(src.size()), d = model_.config().d_model;
  for (int32_t s : src)
    if (s < 0 || s >= rows()) throw Error("decoder select_rows: row out of range");
  int32_t longest = 1;
  for (int32_t s : src) longest = std::max(longest, lengths_[s]);
  ensure_capacity(n, longest + 1);
  const int64_t cap = k_cache_[0].dim(1);
  // Row r's cache becomes the first lengths_[src[r]] entries of row src[r]'s: runs
  // [from | to | widths], then [to | to | widths] for the way back from the scratch.
  host_runs_.resize(static_cast<size_t>(6 * n));
  int64_t* runs = host_runs_.data();
  for (int64_t r = 0; r < n; ++r) {
    runs[r] = src[r] * cap * d;
    runs[n + r] = runs[3 * n + r] = runs[4 * n + r] = r * cap * d;
    runs[2 * n + r] = runs[5 * n + r] = lengths_[src[r]] * d;
  }
  upload_table(host_runs_.data(), host_runs_.size() * sizeof(int64_t), reorder_table_);
  const Tensor forward = reorder_table_.slice_rows(0, 6 * n);
  const Tensor back = reorder_table_.slice_rows(6 * n, 12 * n);
  if (ctx_.cuda_graphs) {
    // Through the scratch and back: the caches stay where a recorded step expects them
    // (the second copy costs about 5% of a CPU decode, so only here). The reorder is
    // itself replayed as a graph.
    cache_scratch_.resize(k_cache_[0].shape(), k_cache_[0].dtype(), k_cache_[0].device());
    StepGraphs::Key key = step_buffers();
    key.insert(key.begin(), {kReorderKey, reinterpret_cast<uintptr_t>(cache_scratch_.data<char>()),
                             reinterpret_cast<uintptr_t>(reorder_table_.data<char>()),
                             static_cast<uintptr_t>(n)});
    graphs_.run(ctx_, key, [&](const ExecContext& ctx) {
      for (auto* caches : {&k_cache_, &v_cache_}) {
        for (Tensor& cache : *caches) {
          ops::copy_runs(ctx, cache, forward, cache_scratch_);
          ops::copy_runs(ctx, cache_scratch_, back, cache);
        }
      }
    });
  } else {
    for (auto* caches : {&k_cache_, &v_cache_}) {
      for (Tensor& cache : *caches) {
        Tensor next(cache.shape(), cache.dtype(), cache.device());
        ops::copy_runs(ctx_, cache, forward, next);
        cache = std::move(next);
      }
    }
  }
  std::vector<int32_t> lengths(n), sources(n);
  for (int64_t r = 0; r < n; ++r) {
    lengths[r] = lengths_[src[r]];
    sources[r] = sources_[src[r]];
  }
  lengths_ = std::move(lengths);
  sources_ = std::move(sources);
}

void WhisperDecoder::upload_table(const void* host, size_t bytes, Tensor& table) {
  if (table.device().is_cpu()) {
    std::memcpy(table.data<char>(), host, bytes);
    return;
  }
#ifdef VOICEMAN_CUDA
  // Staged and ordered on our stream, ahead of the work that reads it.
  cuda::copy(ctx_, table.data<char>(), table.device(), host, Device::cpu(), bytes);
#endif
}

void WhisperDecoder::fill_step_tables(std::span<const int32_t> tokens) {
  const int64_t n = rows();
  const auto frames = static_cast<int32_t>(frames_);
  host_table_.resize(static_cast<size_t>(6 * n));
  int32_t* t = host_table_.data();
  for (int64_t r = 0; r < n; ++r) {
    t[r] = tokens[r];
    t[n + r] = lengths_[r];
    t[2 * n + r] = static_cast<int32_t>(r);
    t[3 * n + r] = lengths_[r] + 1;
    t[4 * n + r] = sources_[r];
    t[5 * n + r] = frames;
  }
  upload_table(host_table_.data(), host_table_.size() * sizeof(int32_t), step_table_);
  auto part = [&](int64_t i) { return step_table_.slice_rows(i * n, (i + 1) * n); };
  step_tokens_ = part(0);
  step_index_ = layers::StepIndex{part(1), part(2), part(3), part(4), part(5)};
}

void WhisperDecoder::step_body(const ExecContext& ctx) {
  const auto& c = model_.config();
  ops::embedding(ctx, model_.embeddings_, model_.embedding_scales_, step_tokens_, step_hidden_);
  // Row r is at position lengths_[r]: gather those position rows and add them.
  ops::embedding(ctx, model_.decoder_positions_, step_index_.positions, step_positions_);
  ops::add(ctx, step_hidden_, step_positions_);
  for (int l = 0; l < c.decoder_layers; ++l) {
    const auto& layer = model_.decoder_layers_[l];
    layer.self_attention.step(ctx, step_hidden_, k_cache_[l], v_cache_[l], step_index_, step_ws_);
    if (cross_kq_.empty())
      layer.cross_attention.step(ctx, step_hidden_, cross_k_[l], cross_v_[l], step_index_,
                                 step_ws_);
    else
      layer.cross_attention.step(ctx, step_hidden_, cross_kq_[l], cross_vq_[l], step_index_,
                                 step_ws_);
    layer.ffn.forward(ctx, step_hidden_, step_ws_);
  }
  model_.decoder_norm_.forward(ctx, step_hidden_, step_normed_);
  ops::linear(ctx, step_normed_, model_.projection_, step_logits_);
}

std::span<const float> WhisperDecoder::step(std::span<const int32_t> tokens) {
  const auto& c = model_.config();
  const int64_t n = rows();
  if (static_cast<int64_t>(tokens.size()) != n)
    throw Error("decoder step: one token per row expected");
  // Checked here: on a GPU the tables are read where they are.
  for (int32_t token : tokens)
    if (token < 0 || token >= c.vocab_size) throw Error("decoder step: token out of range");
  int32_t longest = 0;
  for (int32_t len : lengths_) longest = std::max(longest, len);
  if (longest >= c.max_target_positions)
    throw Error("decoder step: sequence reached the model's maximum length");
  ensure_capacity(n, longest + 1);
  fill_step_tables(tokens);
  // A replayed graph runs no host code, so the logits' shape is set here, not left as the
  // last direct step (maybe with fewer rows) set it. Within capacity: no reallocation.
  step_logits_.resize({n, static_cast<int64_t>(c.vocab_size)});
  graphs_.run(ctx_, step_buffers(), [this](const ExecContext& ctx) { step_body(ctx); });
  for (int32_t& len : lengths_) ++len;
  return host_logits(step_logits_);
}

std::vector<std::vector<float>> WhisperDecoder::language_probs(int32_t sot,
                                                               std::span<const int32_t> lang_ids) {
  const int64_t vocab = vocab_size();
  // Every window's one-token sequence in one pass: hidden_ is [windows, d].
  const std::vector<int32_t> prompts(static_cast<size_t>(windows_), sot);
  run_sequences(windows_, 0, prompts, -1, nullptr);
  std::vector<float> logits;
  logits_for(hidden_, logits);
  std::vector<std::vector<float>> probs(windows_);
  for (int64_t w = 0; w < windows_; ++w) {
    // Softmax over the language tokens only, as CTranslate2's detect_language does.
    const float* row = logits.data() + w * vocab;
    float mx = row[lang_ids.front()];
    for (int32_t id : lang_ids) mx = std::max(mx, row[id]);
    double sum = 0;
    for (int32_t id : lang_ids) sum += std::exp(row[id] - mx);
    for (int32_t id : lang_ids)
      probs[w].push_back(static_cast<float>(std::exp(row[id] - mx) / sum));
  }
  return probs;
}

}  // namespace voiceman::models
