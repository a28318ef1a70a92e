// Host cost of the decoder's search per step at GPU batch shapes: the logits rules,
// log-softmax and top-k over [windows x beams, vocab] logits, on 1..N threads. On a GPU
// this runs between two model steps while the device waits, so it bounds the step rate.
//
//   build/bench/micro/voiceman_micro_bench --benchmark_filter=Search
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "voiceman/decoding/search.h"

namespace voiceman::decoding {
namespace {

constexpr int kVocab = 51865;  // multilingual Whisper; SpecialTokens' defaults
constexpr int kSteps = 32;     // max_length 64: min(64 / 2, 64 - 3 + 1)

// Fixed pseudo-random logits per source window; <|endoftext|> low, so no row ends early.
class ConstantLogits : public StepModel {
 public:
  explicit ConstantLogits(int sources) : pattern_(static_cast<size_t>(sources) * kVocab) {
    uint64_t x = 88172645463325252ULL;
    for (float& v : pattern_) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v = static_cast<float>(x % 6000) / 1000.f - 3.f;
    }
    for (int s = 0; s < sources; ++s) pattern_[static_cast<size_t>(s) * kVocab + 50256] = -20.f;
  }
  int vocab_size() const override { return kVocab; }
  int rows() const override { return static_cast<int>(sources_.size()); }
  void start(const std::vector<std::vector<int32_t>>& prompts, std::span<const int32_t> source,
             std::span<const int32_t>, std::vector<float>& last_logits,
             std::vector<float>& sot_logits) override {
    sources_.assign(source.begin(), source.end());
    fill(last_logits);
    sot_logits.resize(last_logits.size());
  }
  void select_rows(std::span<const int32_t> src) override {
    std::vector<int32_t> next;
    for (int32_t s : src) next.push_back(sources_[static_cast<size_t>(s)]);
    sources_ = std::move(next);
  }
  std::span<const float> step(std::span<const int32_t>) override {
    fill(logits_);
    return logits_;
  }

 private:
  // What a GPU step hands back: one row per live beam (a copy, as the download is).
  void fill(std::vector<float>& logits) const {
    logits.resize(sources_.size() * kVocab);
    for (size_t r = 0; r < sources_.size(); ++r)
      std::memcpy(logits.data() + r * kVocab,
                  pattern_.data() + static_cast<size_t>(sources_[r]) * kVocab,
                  sizeof(float) * kVocab);
  }
  std::vector<float> pattern_;
  std::vector<int32_t> sources_;
  std::vector<float> logits_;  // what step() returns
};

// Args: windows, threads. Beam 5 with the timestamp rules, as `voiceman run` decodes.
void BM_SearchStep(benchmark::State& state) {
  const int windows = static_cast<int>(state.range(0));
  SearchOptions options;
  options.beam_size = 5;
  options.max_length = 2 * kSteps;
  options.threads = static_cast<int>(state.range(1));
  const SpecialTokens specials;
  std::vector<SearchRequest> requests;
  requests.reserve(static_cast<size_t>(windows));
  for (int w = 0; w < windows; ++w)
    requests.push_back(SearchRequest{{specials.sot, 50259, specials.transcribe}, w, 0, 0});
  ConstantLogits model(windows);
  for (auto _ : state) {
    benchmark::DoNotOptimize(search(model, requests, options, specials));
  }
  state.counters["per_step"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kSteps,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SearchStep)
    ->ArgNames({"windows", "threads"})
    ->ArgsProduct({{8, 20}, {1, 2, 4, 8}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace voiceman::decoding

BENCHMARK_MAIN();
