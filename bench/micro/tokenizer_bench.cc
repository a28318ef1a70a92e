// Cost of loading a model's tokenizer.json (base: 50k tokens, 50k merges), which every
// run and every engine pays once. Was a timed unit test; timings belong here.
//
//   build/bench/micro/voiceman_micro_bench --benchmark_filter=Tokenizer
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::tokenizer {
namespace {

std::filesystem::path models_dir() {
  const char* env = std::getenv("VOICEMAN_MODELS_DIR");
  return env != nullptr && *env != '\0' ? std::filesystem::path(env)
                                        : std::filesystem::path(VOICEMAN_SOURCE_DIR) / "models";
}

void BM_TokenizerLoad(benchmark::State& state) {
  const std::filesystem::path dir = models_dir() / "base";
  if (!std::filesystem::exists(dir / "tokenizer.json")) {
    state.SkipWithError("models/base/tokenizer.json absent (scripts/fetch-models.sh)");
    return;
  }
  for (auto _ : state) {
    const Tokenizer tok = Tokenizer::load(dir);
    benchmark::DoNotOptimize(tok.vocab_size());
  }
}
// CPU time: shared machines stretch wall time, not the work done.
BENCHMARK(BM_TokenizerLoad)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace
}  // namespace voiceman::tokenizer
