#pragma once
// Hyper-parameters of a Whisper model folder: read from model.bin's shapes and scalars and
// from config.json (alignment heads, language ids, suppressed tokens).
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

}  // namespace voiceman::models
