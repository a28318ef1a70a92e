#pragma once
// Silero VAD v6, the 16 kHz model faster-whisper 1.2.1 ships (assets/silero_vad_v6.onnx),
// read with our own ONNX reader and run with our ops. Per 512-sample frame (plus the 64
// samples before it as context): STFT as one linear layer, magnitude, four convolutions,
// an LSTM whose state is carried from frame to frame, a 1x1 convolution and a sigmoid.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::models {

class SileroVad {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr int64_t kFrame = 512;   // samples per probability
  static constexpr int64_t kContext = 64;  // samples of the previous frame prepended

  // Loads and checks the weights (ModelError naming the file on any mismatch); they are
  // placed on `device`.
  static SileroVad load(const std::filesystem::path& path, Device device = Device::cpu());

  // One speech probability per frame. Frame i covers audio[512 i, 512 (i + 1)); samples
  // past the end of `audio` are zeros. n_frames < 0 means ceil(audio.size() / 512).
  // All frames go through the convolutional encoder in large batches, then the LSTM runs
  // over the sequence of frames; the result equals running frame by frame.
  std::vector<float> probabilities(const ExecContext& ctx, std::span<const float> audio,
                                   int64_t n_frames = -1) const;

 private:
  struct Conv {  // a conv1d stored as a linear layer over [k, c_in] windows (channels last)
    ops::LinearWeight linear;
    int64_t c_in = 0, kernel = 0, stride = 1, padding = 0;
  };
  // Activations reused from one block of frames to the next (no per-block allocation).
  struct Workspace {
    Tensor windows, spectrum, magnitude, a, b, features, hidden, logits;
    Tensor cols[4];  // zero-padded convolution windows; the padding stays zero
  };
  void encode_block(const ExecContext& ctx, const Tensor& frames, Workspace& ws) const;
  void conv(const ExecContext& ctx, const Conv& layer, const Tensor& x, int64_t t_in, Tensor& cols,
            Tensor& y) const;

  ops::LinearWeight stft_;  // [2 * 129, 256]: real then imaginary basis rows, no bias
  std::vector<Conv> convs_;
  ops::LstmWeights lstm_;
  ops::LinearWeight decoder_;  // [1, 128]
};

}  // namespace voiceman::models
