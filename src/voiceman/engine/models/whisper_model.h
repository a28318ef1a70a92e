#pragma once
// The Whisper model: weights plus the encoder graph. Decoding state lives in
// WhisperDecoder sessions, so one loaded model can serve many sessions at once.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "voiceman/engine/layers/transformer.h"
#include "voiceman/engine/models/whisper_config.h"

namespace voiceman::models {

enum class ComputeType { float32, int8 };
ComputeType parse_compute_type(const std::string& name);  // throws ConfigError
std::string compute_type_name(ComputeType type);

class WhisperDecoder;

class WhisperModel {
 public:
  // Loads a CTranslate2 Whisper folder (config.json + model.bin). int8 quantises the
  // linear layers' weights per output row at load time (CTranslate2's CPU scheme).
  static std::shared_ptr<const WhisperModel> load(const std::filesystem::path& dir,
                                                  ComputeType compute_type,
                                                  Device device = Device::cpu());

  const WhisperConfig& config() const { return config_; }
  ComputeType compute_type() const { return compute_type_; }
  const std::filesystem::path& dir() const { return dir_; }

  // features [batch, n_mels, 2 * audio_frames] -> encoder states [batch, audio_frames, d].
  Tensor encode(const ExecContext& ctx, const Tensor& features) const;

  // A decoding session over encoder states [batch, frames, d] (cross keys/values are
  // computed once here).
  std::unique_ptr<WhisperDecoder> start_decoder(const ExecContext& ctx, const Tensor& encoded) const;

 private:
  friend class WhisperDecoder;
  WhisperConfig config_;
  ComputeType compute_type_ = ComputeType::float32;
  std::filesystem::path dir_;

  Tensor conv1_w_, conv1_b_, conv2_w_, conv2_b_, encoder_positions_;
  std::vector<layers::EncoderLayer> encoder_layers_;
  layers::LayerNorm encoder_norm_;

  Tensor embeddings_, decoder_positions_;
  std::vector<layers::DecoderLayer> decoder_layers_;
  layers::LayerNorm decoder_norm_;
  ops::LinearWeight projection_;  // tied to the embeddings
};

}  // namespace voiceman::models
