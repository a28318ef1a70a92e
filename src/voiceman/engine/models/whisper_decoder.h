#pragma once
// A decoding session over a batch of encoded windows: per-row key/value caches that grow
// on demand, cross-attention keys/values computed once per window.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "voiceman/decoding/step_model.h"
#include "voiceman/engine/models/step_graphs.h"
#include "voiceman/engine/models/whisper_model.h"

namespace voiceman::models {

// What word alignment needs from the model for one token sequence.
struct AlignmentData {
  Tensor weights;                  // [alignment heads, sequence length, frames] attention probs
  std::vector<float> token_probs;  // token_probs[i] = p(seq[i] | seq[<i]); token_probs[0] = 1
};

// One sequence to align against window `source`.
struct AlignRequest {
  int32_t source = 0;
  std::vector<int32_t> sequence;
};

class WhisperDecoder final : public decoding::StepModel {
 public:
  WhisperDecoder(const WhisperModel& model, const ExecContext& ctx, const Tensor& encoded);

  int vocab_size() const override { return model_.config().vocab_size; }
  int rows() const override { return static_cast<int>(lengths_.size()); }
  void start(const std::vector<std::vector<int32_t>>& prompts, std::span<const int32_t> source,
             std::span<const int32_t> sot_index, std::vector<float>& last_logits,
             std::vector<float>& sot_logits) override;
  void select_rows(std::span<const int32_t> src) override;
  // Whether start() and align() pad sequences over consecutive windows to the longest and
  // run them in one pass. On by default on a GPU, where a pass's launches then do not grow
  // with the windows; off on a CPU, which the padding would cost work (start() then joins
  // only prompts of one length, align() runs each sequence alone). Results come out alike:
  // causal attention keeps the padding out of the real positions.
  void pad_runs(bool on) { pad_runs_ = on; }
  std::span<const float> step(std::span<const int32_t> tokens) override;

  // Probabilities of the language tokens after <|startoftranscript|>, per window:
  // [windows x lang_ids.size()], softmax over the language tokens as CTranslate2 does.
  std::vector<std::vector<float>> language_probs(int32_t sot, std::span<const int32_t> lang_ids);

  // Runs the whole sequence against window `source` and returns the alignment heads'
  // cross-attention and the per-token probabilities. With text_vocab > 0 these are a
  // softmax over tokens [0, text_vocab) only, and 0 for tokens past it: the reference's
  // word probabilities are over the text tokens (those before <|endoftext|>). Does not
  // touch the session's rows.
  AlignmentData align(int32_t source, std::span<const int32_t> sequence, int32_t text_vocab = 0);
  // The same for several sequences, in order; requests over consecutive windows go
  // through one padded pass where pad_runs is on.
  std::vector<AlignmentData> align(std::span<const AlignRequest> requests, int32_t text_vocab = 0);

  // Every buffer a step reads or writes besides the weights and encoder states, and the
  // row count: a recorded step is replayed only while these are unchanged. With
  // ExecContext::cuda_graphs, steps with the same row count and cache capacity find them
  // in place, beam reorders included.
  StepGraphs::Key step_buffers() const;
  const StepGraphs& step_graphs() const { return graphs_; }

 private:
  // Receives a layer's cross-attention probabilities [batch, heads, t, frames] (float32, on
  // the model's device) for the layers it asks for, while they are valid.
  struct WeightsSink {
    std::vector<char> layers;  // layers[l] != 0: layer l's are wanted
    std::function<void(int layer, const Tensor& weights)> take;
  };
  // Runs `batch` sequences of one length t (tokens holds them one after another) through
  // the decoder, sequence b against window first_source + b and, when first_slot >= 0,
  // into cache slot first_slot + b; leaves the final hidden states [batch * t, d] in
  // hidden_. One pass for a batch's prompts instead of one per prompt: the launches of a
  // GPU pass do not grow with the batch.
  void run_sequences(int64_t batch, int32_t first_source, std::span<const int32_t> tokens,
                     int64_t first_slot, const WeightsSink* sink);
  // align() for requests over consecutive windows, padded to t_max tokens, in one pass.
  void align_run(std::span<const AlignRequest> run, int64_t t_max, int32_t text_vocab,
                 std::span<AlignmentData> out);
  // out[b].token_probs from the hidden states align_run's pass left (rows b * t_max + i).
  void token_probabilities(std::span<const AlignRequest> run, int64_t t_max, int32_t text_vocab,
                           std::span<AlignmentData> out);
  // Windows [first, first + count) of an int8 cache as [count, frames, d] in the model's
  // dtype.
  void dequantize_windows(const ops::QuantizedCache& cache, int64_t first, int64_t count,
                          Tensor& out);
  void logits_for(const Tensor& hidden_rows, std::vector<float>& logits);
  // Logits [rows, vocab] as float32 host memory, valid until the next call: a CPU
  // float32 tensor where it is, else a cast and (from a GPU) cuda::download's pinned
  // memory, which no other download on this engine's thread and stream comes between.
  std::span<const float> host_logits(const Tensor& logits);
  // The logits themselves when float32, else their float32 cast in logits_f32_.
  const Tensor& float32_logits(const Tensor& logits);
  // The same, copied into `logits`.
  void download_logits(const Tensor& device_logits, std::vector<float>& logits);
  // Grows the caches (and, with them, the step buffers); existing entries are kept.
  void ensure_capacity(int64_t rows, int64_t length);
  // Sizes the step buffers for `rows` rows, so steps with fewer keep them in place.
  void reserve_step(int64_t rows);
  // Uploads a step's index tables in one copy and points the step's views at them.
  void fill_step_tables(std::span<const int32_t> tokens);
  // The step from embeddings to logits, on ctx (ctx_, or the stream a graph records on).
  void step_body(const ExecContext& ctx);
  // Copies a host table into the front of a device (or host) int32 buffer, on ctx_'s stream.
  void upload_table(const void* host, size_t bytes, Tensor& table);

  const WhisperModel& model_;
  ExecContext ctx_;
  int64_t windows_ = 0;
  int64_t frames_ = 0;  // encoder frames per window
  bool pad_runs_ = false;
  std::vector<Tensor> cross_k_, cross_v_;  // per layer [windows, frames, d]
  // With DecoderOptions::int8_cross_kv, instead of cross_k_ and cross_v_: the same as int8,
  // which the steps read; sequence passes read windows of them dequantised into the
  // scratch tensors, the values quantize_heads rounded to.
  std::vector<ops::QuantizedCache> cross_kq_, cross_vq_;
  Tensor cross_k_scratch_, cross_v_scratch_;
  std::vector<Tensor> k_cache_, v_cache_;  // per layer [row capacity, length capacity, d]
  std::vector<int32_t> lengths_;           // tokens already in each row's cache
  std::vector<int32_t> sources_;           // window of each row
  layers::Workspace ws_;
  Tensor hidden_, normed_, positions_;
  // The step's own buffers, apart from the sequence code's, so they stay in place.
  layers::Workspace step_ws_;
  Tensor step_hidden_, step_positions_, step_normed_, step_logits_;
  Tensor step_table_;             // int32 [6 * reserved rows]: the step's index tables
  Tensor step_tokens_;            // view of step_table_
  layers::StepIndex step_index_;  // views of step_table_
  std::vector<int32_t> host_table_;
  // select_rows: its run tables (int32 [12 * reserved rows]: int64 runs into the new order,
  // then back from the scratch), uploaded once for all layers, and with cuda_graphs the
  // scratch each cache is reordered through in place.
  Tensor reorder_table_;
  std::vector<int64_t> host_runs_;
  Tensor cache_scratch_;
  Tensor logits_f32_;  // a float16/bfloat16 model's logits as float32, for the download
  StepGraphs graphs_;
};

}  // namespace voiceman::models
