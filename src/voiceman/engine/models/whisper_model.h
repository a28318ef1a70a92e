#pragma once
// The Whisper model: weights plus the encoder graph. Decoding state lives in
// WhisperDecoder sessions, so one loaded model can serve many sessions at once.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "voiceman/engine/layers/transformer.h"
#include "voiceman/engine/models/whisper_config.h"

namespace voiceman::models {

// float32 and int8 run on every device. float16/bfloat16 need a CUDA device; there int8
// means int8 weights with float16 activations (CTranslate2's int8_float16).
// int8_bfloat16 (CPU): int8 linear layers as int8, plus bfloat16 products in the encoder's
// attention on CPUs with native bf16 (elsewhere it equals int8).
enum class ComputeType { float32, int8, float16, bfloat16, int8_bfloat16 };
// int8 or int8_bfloat16: linear weights quantised to int8.
inline bool is_int8(ComputeType type) {
  return type == ComputeType::int8 || type == ComputeType::int8_bfloat16;
}
ComputeType parse_compute_type(const std::string& name);  // throws ConfigError
// The fastest CPU compute type here: int8_bfloat16 where the CPU multiplies bf16 natively,
// int8 elsewhere.
ComputeType best_cpu_compute_type();
std::string compute_type_name(ComputeType type);
// The dtype of activations and float weights for a compute type on a device.
DType activation_dtype(ComputeType type, Device device);

// How this model's decoder sessions keep their state; fixed when the model is loaded.
struct DecoderOptions {
  // Cross-attention keys and values held as int8 with one scale per position and head
  // instead of in the activation dtype: about half the bytes a float16 GPU step reads for
  // them (bench/GPU.md), a quarter at float32, and about half their memory. Results change
  // slightly (the prompt pass and word alignment read the same rounded values); off by
  // default.
  bool int8_cross_kv = false;
};

class WhisperDecoder;
class WeightSource;  // whisper_model.cc: a model.bin, or random weights

class WhisperModel {
 public:
  // Loads a CTranslate2 Whisper folder (config.json + model.bin). int8 quantises the
  // linear layers' weights per output row at load time (CTranslate2's CPU scheme), the
  // token embeddings too, which are the projection's matrix: one copy serves both. On a
  // CUDA device the weights are converted to the compute type's dtype and uploaded;
  // DeviceError when that device is not there.
  static std::shared_ptr<const WhisperModel> load(const std::filesystem::path& dir,
                                                  ComputeType compute_type,
                                                  Device device = Device::cpu(),
                                                  DecoderOptions decoder = {});

  // The architecture of `config` with random weights (uniform, std 0.02; layer norms at
  // 1 and 0), the same for a given seed on every device: for throughput benchmarks and
  // CPU-versus-GPU parity, where only the arithmetic matters.
  static std::shared_ptr<const WhisperModel> random(const WhisperConfig& config,
                                                    ComputeType compute_type,
                                                    Device device = Device::cpu(),
                                                    uint64_t seed = 1, DecoderOptions decoder = {});

  const WhisperConfig& config() const { return config_; }
  ComputeType compute_type() const { return compute_type_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }  // activations and float weights
  const DecoderOptions& decoder_options() const { return decoder_options_; }
  const std::filesystem::path& dir() const { return dir_; }

  // features [batch, n_mels, 2 * audio_frames] (float32, any device) -> encoder states
  // [batch, audio_frames, d] on the model's device, in dtype(). ctx must name that device.
  Tensor encode(const ExecContext& ctx, const Tensor& features) const;

  // A decoding session over encoder states [batch, frames, d] (cross keys/values are
  // computed once here).
  std::unique_ptr<WhisperDecoder> start_decoder(const ExecContext& ctx,
                                                const Tensor& encoded) const;

 private:
  friend class WhisperDecoder;
  WhisperConfig config_;
  ComputeType compute_type_ = ComputeType::float32;
  Device device_;
  DType dtype_ = DType::f32;
  DecoderOptions decoder_options_;
  std::filesystem::path dir_;
  // Set by the first decoder whose CUDA graph recording fails, so that the decoders of
  // later batches run their steps directly instead of failing again (StepGraphs).
  mutable std::atomic<bool> step_graphs_failed_{false};

  // Reads every weight from `source` (model.bin or random), then places them.
  void build(const WeightSource& source);
  // The token embeddings, shared with the projection when model.bin ties them. True when
  // embeddings_ is the projection's float matrix, to be placed once for both.
  bool load_embeddings(const WeightSource& source);
  // Converts the float weights to dtype_ and moves everything to device_.
  void place_weights(bool projection_is_embeddings);
  void check_context(const ExecContext& ctx) const;

  Tensor conv1_w_, conv1_b_, conv2_w_, conv2_b_, encoder_positions_;
  std::vector<layers::EncoderLayer> encoder_layers_;
  layers::LayerNorm encoder_norm_;

  // An int8 table (the CPU's int8 compute types) has one scale per row; a float one none.
  Tensor embeddings_, embedding_scales_, decoder_positions_;
  std::vector<layers::DecoderLayer> decoder_layers_;
  layers::LayerNorm decoder_norm_;
  ops::LinearWeight projection_;  // shares its matrix with embeddings_ when model.bin ties them
};

}  // namespace voiceman::models
