#pragma once
// Hyper-parameters of a Whisper model folder: read from model.bin's shapes and scalars and
// from config.json (alignment heads, language ids, suppressed tokens).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

namespace voiceman::models {

class ModelFile;

struct WhisperConfig {
  int n_mels = 80;
  int d_model = 384;
  int encoder_layers = 4;
  int decoder_layers = 4;
  int encoder_heads = 6;
  int decoder_heads = 6;
  int vocab_size = 51864;
  int max_target_positions = 448;                    // decoder positions
  int audio_frames = 1500;                           // encoder positions
  std::vector<std::pair<int, int>> alignment_heads;  // (layer, head)
  std::vector<int32_t> lang_ids;
  std::vector<int32_t> suppress_ids;
  std::vector<int32_t> suppress_ids_begin;

  bool multilingual() const { return vocab_size >= 51865; }
  // Reads config.json and checks it against the weights' shapes.
  static WhisperConfig load(const std::filesystem::path& dir, const ModelFile& file);
};

// Upper estimates of device memory in bytes, for choosing how many engines share a device.
// The weights: every matrix at `matrix_bytes` per element (1 for int8), the embeddings and
// convolutions at `activation_bytes`; biases and norms are left out (under 0.1%).
uint64_t estimated_weight_bytes(const WhisperConfig& c, size_t matrix_bytes,
                                size_t activation_bytes);
// What one engine holds beside the shared weights at `windows` windows of `rows_per_window`
// decoder rows (beams or samples): every decoder layer's cross keys and values, the self
// caches at full length (max_target_positions), the encoder's activations at once, and the
// step's logits in the activation dtype and as float32. With int8_cross_kv the cross keys
// and values are int8 with their scales, and one layer's in the activation dtype
// (DecoderOptions).
uint64_t estimated_engine_bytes(const WhisperConfig& c, size_t activation_bytes, int windows,
                                int rows_per_window, bool int8_cross_kv = false);

}  // namespace voiceman::models
