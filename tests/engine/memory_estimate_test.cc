// The device memory estimates that decide how many engines share a GPU (run setup): the
// weights against a real model file's element count, an engine's working set against
// the sizes it is made of.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>

#include "support/paths.h"
#include "voiceman/engine/models/model_file.h"
#include "voiceman/engine/models/whisper_config.h"

namespace voiceman::models {
namespace {

WhisperConfig large_v3(int decoder_layers) {
  WhisperConfig c;
  c.n_mels = 128;
  c.d_model = 1280;
  c.encoder_heads = c.decoder_heads = 20;
  c.encoder_layers = 32;
  c.decoder_layers = decoder_layers;
  c.vocab_size = 51866;
  return c;
}

TEST(MemoryEstimate, WeightsCountTheRealTinyEnFilesElements) {
  const std::filesystem::path dir = voiceman::testing::model_dir("tiny.en");
  if (!std::filesystem::exists(dir / "model.bin")) GTEST_SKIP() << "models/tiny.en not fetched";
  const ModelFile file = ModelFile::open(dir / "model.bin", "WhisperSpec");
  const WhisperConfig config = WhisperConfig::load(dir, file);
  uint64_t elements = 0;
  for (const auto& [name, info] : file.variables())
    if (info.shape.size() >= 2) elements += static_cast<uint64_t>(shape_numel(info.shape));
  // At one byte per element the estimate counts elements. Only biases, norms and scalars
  // (all 1-D, left out above) are not in it; CTranslate2 stores no position table for
  // the encoder (sinusoids), which the estimate counts: 1500 x 384.
  const uint64_t estimate = estimated_weight_bytes(config, 1, 1);
  const double ratio = static_cast<double>(estimate) / static_cast<double>(elements);
  EXPECT_GT(ratio, 0.98) << estimate << " estimated, " << elements << " in the file";
  EXPECT_LT(ratio, 1.03) << estimate << " estimated, " << elements << " in the file";
  // int8 halves the matrices and keeps the embeddings in the activation dtype.
  EXPECT_LT(estimated_weight_bytes(config, 1, 2), estimated_weight_bytes(config, 2, 2));
  EXPECT_GT(estimated_weight_bytes(config, 1, 2), estimated_weight_bytes(config, 1, 1));
}

TEST(MemoryEstimate, AnEnginesWorkingSetGrowsWithWindowsRowsAndLayers) {
  const WhisperConfig v3 = large_v3(32), turbo = large_v3(4);
  // Large-v3 in float16 at the GPU's initial 20 windows of 5 beams: cross keys and
  // values 4.9 GB, self caches at 448 positions 7.3 GB, the encoder 1.1 GB.
  const uint64_t v3_bytes = estimated_engine_bytes(v3, 2, 20, 5);
  EXPECT_GT(v3_bytes, uint64_t{13'000'000'000});
  EXPECT_LT(v3_bytes, uint64_t{14'000'000'000});
  const uint64_t turbo_bytes = estimated_engine_bytes(turbo, 2, 20, 5);
  EXPECT_LT(turbo_bytes, v3_bytes / 4);
  EXPECT_GT(estimated_engine_bytes(v3, 2, 40, 5), v3_bytes * 19 / 10);
  EXPECT_GT(estimated_engine_bytes(v3, 2, 20, 10), v3_bytes);
  EXPECT_GT(estimated_engine_bytes(v3, 4, 20, 5), v3_bytes * 19 / 10);
  // int8 cross keys and values: the float16 ones' 4.9 GB become 2.6 GB (scales included:
  // 20 heads of 64 share one float32), plus one layer's 154 MB in float16.
  const uint64_t int8_saved = v3_bytes - estimated_engine_bytes(v3, 2, 20, 5, true);
  EXPECT_GT(int8_saved, uint64_t{2'100'000'000});
  EXPECT_LT(int8_saved, uint64_t{2'200'000'000});
  // Large-v3's float16 weights: 1.55 G parameters.
  const uint64_t weights = estimated_weight_bytes(v3, 2, 2);
  EXPECT_GT(weights, uint64_t{3'000'000'000});
  EXPECT_LT(weights, uint64_t{3'200'000'000});
}

}  // namespace
}  // namespace voiceman::models
