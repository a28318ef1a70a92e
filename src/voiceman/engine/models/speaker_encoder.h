#pragma once
// Speaker embeddings for diarization. Supported checkpoints (the kind is detected from the
// tensor names):
//   - resemblyzer's pretrained.pt: GE2E, 3-layer LSTM 256 over 40 mel bands, linear + ReLU,
//     L2-normalised, 256-d. An utterance is cut into 1.6 s partials at 1.3 per second whose
//     embeddings are averaged and re-normalised (VoiceEncoder.embed_utterance).
// Preprocessing: resemblyzer's preprocess_wav does volume normalisation (to -30 dBFS, only
// ever increasing) and trims long silences with webrtcvad. We do the normalisation; the
// webrtcvad trimming is left out (diarization feeds speech regions already chosen by the
// segmentation model). Parity is therefore against embed_utterance(normalize_volume(wav)).
//   - WeSpeaker ResNet34 (pyannote.audio's WeSpeakerResNet34 state dict, "resnet." names,
//     or a native WeSpeaker one): Kaldi fbank 80, ResNet34, statistics pooling, linear 256
//     (see wespeaker_resnet.h); one embedding of the whole clip, L2-normalised here.
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/engine/models/wespeaker_resnet.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/features/speaker_mel.h"

namespace voiceman::models {

class SpeakerEncoder {
 public:
  // bf16_lstm: the GE2E LSTMs' products, input and recurrent, take bfloat16 (ops::lstm;
  // ConfigError where the CPU cannot); WeSpeaker ResNets have no LSTM and stay float32.
  static std::shared_ptr<const SpeakerEncoder> load(const std::filesystem::path& checkpoint,
                                                    Device device = Device::cpu(),
                                                    bool bf16_lstm = false);

  int dim() const { return dim_; }
  bool is_wespeaker() const { return resnet_ != nullptr; }
  int sample_rate() const { return 16000; }
  // 16 kHz audio -> L2-normalised embedding (dim() values). Empty audio gives zeros.
  std::vector<float> embed(const ExecContext& ctx, std::span<const float> audio) const;
  // The same for many clips at once: all their partials go through the LSTM as one batch.
  std::vector<std::vector<float>> embed_batch(
      const ExecContext& ctx, const std::vector<std::span<const float>>& audios) const;

  // Building blocks, exposed for the parity tool.
  // Partial windows (start frame) of an utterance of `samples`, as compute_partial_slices
  // (rate 1.3, min_coverage 0.75).
  static std::vector<int> partial_starts(size_t samples);
  static constexpr int kPartialFrames = 160;
  // resemblyzer's normalize_volume(wav, -30, increase_only=True).
  static std::vector<float> normalize_volume(std::span<const float> audio);
  // mels [P, 160, 40] (on the context's device) -> L2-normalised partial embeddings [P, 256].
  Tensor forward_partials(const ExecContext& ctx, const Tensor& mels) const;

 private:
  SpeakerEncoder() = default;
  Device device_;
  int dim_ = 256;
  std::shared_ptr<const WeSpeakerResNet> resnet_;  // set for WeSpeaker checkpoints
  std::vector<ops::LstmWeights> lstm_;
  ops::LinearWeight linear_;
  features::SpeakerMel mel_;
};

}  // namespace voiceman::models
