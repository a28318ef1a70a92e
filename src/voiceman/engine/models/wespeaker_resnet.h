#pragma once
// WeSpeaker's ResNet34 speaker embedding (pyannote.audio's WeSpeakerResNet34, or a native
// WeSpeaker state dict): Kaldi fbank 80 (on int16-scaled audio, mean-centred over time),
// ResNet34 (BasicBlocks 3-4-6-3, 32..256 channels, batch norms folded into the convolutions
// at load), temporal statistics pooling (mean and unbiased std), linear 256. Used through
// SpeakerEncoder, which L2-normalises its output.
#include <memory>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/features/kaldi_fbank.h"

namespace voiceman::models {

class TorchCheckpoint;

class WeSpeakerResNet {
 public:
  // `prefix`: "resnet." for pyannote.audio checkpoints, "" for native WeSpeaker ones.
  WeSpeakerResNet(const TorchCheckpoint& ck, const std::string& prefix, Device device);
  int dim() const { return static_cast<int>(embed_w_.dim(0)); }
  // Raw (unnormalised) embedding of one 16 kHz clip; zeros under one fbank frame.
  std::vector<float> embed(const ExecContext& ctx, std::span<const float> audio) const;

 private:
  struct Conv {
    Tensor weight, bias;  // batch norm folded in
    int stride = 1, padding = 1;
  };
  struct Block {
    Conv conv1, conv2, shortcut;  // shortcut.weight empty: identity
  };
  Conv stem_;
  std::vector<Block> blocks_;
  Tensor embed_w_, embed_b_;
  features::KaldiFbank fbank_;
};

}  // namespace voiceman::models
