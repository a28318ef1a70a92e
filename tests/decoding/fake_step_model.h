#pragma once
// A StepModel for policy tests: logits are a pure function of (source, full token history),
// given by the test. It records how the search drives it (rows per step, select_rows calls).
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <vector>

#include "voiceman/decoding/step_model.h"

namespace voiceman::decoding::testing {

class FakeStepModel : public StepModel {
 public:
  using LogitsFn =
      std::function<void(int32_t source, std::span<const int32_t> history, std::span<float> out)>;

  FakeStepModel(int vocab, LogitsFn fn) : vocab_(vocab), fn_(std::move(fn)) {}

  int vocab_size() const override { return vocab_; }
  int rows() const override { return int(rows_.size()); }

  void start(const std::vector<std::vector<int32_t>>& prompts, std::span<const int32_t> source,
             std::span<const int32_t> sot_index, std::vector<float>& last_logits,
             std::vector<float>& sot_logits) override {
    started_prompts = prompts;
    rows_.clear();
    last_logits.resize(prompts.size() * size_t(vocab_));
    sot_logits.resize(prompts.size() * size_t(vocab_));
    for (size_t i = 0; i < prompts.size(); ++i) {
      rows_.push_back(Row{source[i], prompts[i]});
      fn_(source[i], prompts[i], row(last_logits, i));
      if (sot_index[i] >= 0) {
        std::span<const int32_t> upto(prompts[i].data(), size_t(sot_index[i]) + 1);
        fn_(source[i], upto, row(sot_logits, i));
      }
    }
  }

  void select_rows(std::span<const int32_t> src) override {
    ++select_calls;
    std::vector<Row> next;
    for (int32_t s : src) next.push_back(rows_.at(size_t(s)));
    rows_ = std::move(next);
  }

  std::span<const float> step(std::span<const int32_t> tokens) override {
    if (tokens.size() != rows_.size()) throw std::logic_error("one token per live row");
    step_rows.push_back(int(rows_.size()));
    logits_.resize(rows_.size() * size_t(vocab_));
    for (size_t i = 0; i < rows_.size(); ++i) {
      rows_[i].history.push_back(tokens[i]);
      fn_(rows_[i].source, rows_[i].history, row(logits_, i));
    }
    return logits_;
  }

  std::vector<std::vector<int32_t>> started_prompts;
  std::vector<int> step_rows;  // live rows at each step() call
  int select_calls = 0;

 private:
  struct Row {
    int32_t source;
    std::vector<int32_t> history;
  };

  std::span<float> row(std::vector<float>& v, size_t i) {
    return std::span<float>(v).subspan(i * size_t(vocab_), size_t(vocab_));
  }

  int vocab_;
  LogitsFn fn_;
  std::vector<Row> rows_;
  std::vector<float> logits_;  // what step() returns
};

// Writes log(p) for the listed tokens and a very low logit elsewhere.
inline void set_probs(std::span<float> out, std::initializer_list<std::pair<int32_t, double>> p,
                      float floor = -40.0f) {
  for (float& x : out) x = floor;
  for (const auto& [id, prob] : p) out[size_t(id)] = float(std::log(prob));
}

}  // namespace voiceman::decoding::testing

#include "voiceman/decoding/special_tokens.h"

namespace voiceman::decoding::testing {

// A 30-token vocabulary with Whisper's layout: text 0..9 (0 is the blank " "), then
// <|endoftext|> 10, <|sot|> 11, <|en|> 12, translate 13, transcribe 14, startoflm 15,
// startofprev 16, nospeech 17, notimestamps 18, timestamps 19..29 (<|0.00|>..<|0.20|>).
inline constexpr int kTinyVocab = 30;

inline SpecialTokens tiny_specials() {
  SpecialTokens s;
  s.eot = 10;
  s.sot = 11;
  s.lang_ids = {12};
  s.translate = 13;
  s.transcribe = 14;
  s.sot_lm = 15;
  s.sot_prev = 16;
  s.no_speech = 17;
  s.no_timestamps = 18;
  s.timestamp_begin = 19;
  s.suppress_ids_begin = {0, 10};
  return s;
}

}  // namespace voiceman::decoding::testing
