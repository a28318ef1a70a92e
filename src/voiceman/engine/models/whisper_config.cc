#include "voiceman/engine/models/whisper_config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/model_file.h"

namespace voiceman::models {
namespace {

int count_layers(const ModelFile& file, const std::string& prefix) {
  int n = 0;
  while (file.has(prefix + "/layer_" + std::to_string(n) + "/ffn/linear_0/weight")) ++n;
  return n;
}

}  // namespace

WhisperConfig WhisperConfig::load(const std::filesystem::path& dir, const ModelFile& file) {
  WhisperConfig c;
  const auto& conv1 = file.info("encoder/conv1/weight").shape;
  if (conv1.size() != 3)
    throw ModelError(file.path().string() + ": encoder/conv1/weight is not 3-D");
  c.d_model = static_cast<int>(conv1[0]);
  c.n_mels = static_cast<int>(conv1[1]);
  c.encoder_layers = count_layers(file, "encoder");
  c.decoder_layers = count_layers(file, "decoder");
  if (c.encoder_layers == 0 || c.decoder_layers == 0)
    throw ModelError(file.path().string() + ": model.bin has no encoder or decoder layers");
  c.encoder_heads = static_cast<int>(file.scalar_int("encoder/num_heads"));
  c.decoder_heads = static_cast<int>(file.scalar_int("decoder/num_heads"));
  if (c.encoder_heads <= 0 || c.d_model % c.encoder_heads || c.decoder_heads <= 0 ||
      c.d_model % c.decoder_heads)
    throw ModelError(file.path().string() + ": head count does not divide the model width");
  const auto& emb = file.info("decoder/embeddings/weight").shape;
  c.vocab_size = static_cast<int>(emb.at(0));
  c.max_target_positions =
      static_cast<int>(file.info("decoder/position_encodings/encodings").shape.at(0));
  c.audio_frames = static_cast<int>(file.info("encoder/position_encodings/encodings").shape.at(0));
  if (file.has("decoder/activation") && file.scalar_int("decoder/activation") != 3)
    throw ModelError(file.path().string() + ": unsupported activation (GELU expected)");

  const auto config_path = dir / "config.json";
  std::ifstream in(config_path);
  if (!in) throw ModelError(config_path.string() + ": cannot open config.json");
  nlohmann::json json;
  try {
    in >> json;
    for (const auto& pair : json.value("alignment_heads", nlohmann::json::array()))
      c.alignment_heads.emplace_back(pair.at(0).get<int>(), pair.at(1).get<int>());
    c.lang_ids = json.value("lang_ids", std::vector<int32_t>{});
    c.suppress_ids = json.value("suppress_ids", std::vector<int32_t>{});
    c.suppress_ids_begin = json.value("suppress_ids_begin", std::vector<int32_t>{});
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(config_path.string() + ": invalid config.json: " + e.what());
  }
  for (auto [layer, head] : c.alignment_heads)
    if (layer < 0 || layer >= c.decoder_layers || head < 0 || head >= c.decoder_heads)
      throw ModelError(config_path.string() + ": alignment head out of range");
  if (c.alignment_heads.empty()) {
    // Same default as openai-whisper: all heads of the second half of the decoder.
    for (int l = c.decoder_layers / 2; l < c.decoder_layers; ++l)
      for (int h = 0; h < c.decoder_heads; ++h) c.alignment_heads.emplace_back(l, h);
  }
  return c;
}

uint64_t estimated_weight_bytes(const WhisperConfig& c, size_t matrix_bytes,
                                size_t activation_bytes) {
  const uint64_t d = c.d_model, square = d * d;
  // Encoder layer: QKV 3d^2, output d^2, FFN 8d^2. Decoder layer: those and cross
  // attention's query, key/value and output (4d^2).
  const uint64_t matrices =
      uint64_t(c.encoder_layers) * 12 * square + uint64_t(c.decoder_layers) * 16 * square;
  const uint64_t other = uint64_t(c.n_mels) * d * 3 + square * 3 +                  // convolutions
                         (uint64_t(c.audio_frames) + c.max_target_positions) * d +  // positions
                         uint64_t(c.vocab_size) * d;  // token embeddings
  return matrices * matrix_bytes + other * activation_bytes;
}

uint64_t estimated_engine_bytes(const WhisperConfig& c, size_t activation_bytes, int windows,
                                int rows_per_window, bool int8_cross_kv) {
  const uint64_t d = c.d_model, w = static_cast<uint64_t>(windows),
                 rows = w * static_cast<uint64_t>(rows_per_window);
  // int8 cross keys and values keep one layer's in the activation dtype: the one being
  // quantised, later the windows a sequence pass reads dequantised.
  const uint64_t layer_cross = w * c.audio_frames * d * 2;
  const uint64_t cross = int8_cross_kv ? layer_cross : uint64_t(c.decoder_layers) * layer_cross;
  const uint64_t self = uint64_t(c.decoder_layers) * rows * c.max_target_positions * d * 2;
  // x, normed, the QKV projection (3d), context and the FFN's hidden layer (4d); the
  // convolutions' input and output at twice the frames; the float32 features.
  const uint64_t encoder = w * c.audio_frames * d * 10 + w * 2 * c.audio_frames * d * 2;
  const uint64_t features = w * c.n_mels * 2 * c.audio_frames * 4;
  const uint64_t logits = rows * c.vocab_size * (activation_bytes + 4);
  const uint64_t cross_int8 = int8_cross_kv ? uint64_t(c.decoder_layers) * w * c.audio_frames *
                                                  (d + 4 * uint64_t(c.decoder_heads)) * 2
                                            : 0;
  return (cross + self + encoder) * activation_bytes + features + logits + cross_int8;
}

}  // namespace voiceman::models
