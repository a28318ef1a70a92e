#pragma once
// pyannote's PyanNet speaker segmentation, read natively from its PyTorch checkpoint
// (pytorch_model.bin / .ckpt): SincNet (learned sinc band-pass filters, |.|, max-pool,
// instance norm, leaky ReLU, two more conv blocks), bidirectional LSTMs, linear layers
// with leaky ReLU, classifier. Two output kinds:
//   - multilabel (whisperx's checkpoint): sigmoid per local speaker;
//   - powerset (segmentation-3.0): log-softmax over the powerset classes, converted to
//     per-speaker activity the way pyannote's Powerset.to_multilabel does with soft=False
//     (hard: one-hot of the argmax class times the class -> speakers mapping), which is
//     what pyannote's Inference outputs by default. forward_raw() gives the log-probs.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::models {

class PyannoteSegmentation {
 public:
  // ModelError naming the file for anything that is not a PyanNet checkpoint.
  // bf16_lstm: the LSTMs' input projections multiply in bfloat16 with float32
  // accumulation (ops::lstm); the recurrence stays float32 (rounding h every step turned
  // sample.wav into three speakers). ConfigError where the CPU cannot (ops::bf16_supported()).
  static std::shared_ptr<const PyannoteSegmentation> load(const std::filesystem::path& checkpoint,
                                                          Device device = Device::cpu(),
                                                          bool bf16_lstm = false);

  int sample_rate() const { return 16000; }
  double window_s() const { return window_s_; }  // training chunk duration
  int num_speakers() const { return num_speakers_; }
  bool powerset() const { return powerset_; }
  int num_classes() const { return num_classes_; }  // classifier outputs (powerset classes)
  // Receptive-field timing of output frames, as pyannote's Model.receptive_field.
  double frame_start_s(int frame) const { return (rf_start_ + double(frame) * rf_step_) / 16000.0; }
  double frame_duration_s() const { return rf_size_ / 16000.0; }
  double frame_step_s() const { return rf_step_ / 16000.0; }
  int num_frames(int64_t num_samples) const;

  // waveforms [B, samples] float32 16 kHz -> speaker activity [B, frames, num_speakers]
  // (probabilities for multilabel, hard 0/1 for powerset), on the context's device.
  // Any batch size: windows go through the network 32 at a time.
  Tensor forward(const ExecContext& ctx, const Tensor& waveforms) const;
  // The classifier's activation output [B, frames, num_classes]: sigmoid probabilities or
  // powerset log-probabilities.
  Tensor forward_raw(const ExecContext& ctx, const Tensor& waveforms) const;
  // `count` windows of one recording, [i * step, i * step + window) of `audio` (16 kHz,
  // zeros past its end): the same result as forward() on those windows. When step is a
  // multiple of the SincNet stride, the sinc filterbank (SincNet's costliest layer) runs
  // once over the shared samples: the input instance norm is an affine map per window,
  // which commutes with the linear filterbank.
  Tensor forward_sliding(const ExecContext& ctx, std::span<const float> audio, int64_t step,
                         int count) const;
  // Powerset classes -> speakers: [num_classes x num_speakers] 0/1, pyannote's order
  // (empty set, then singletons, then pairs... in itertools.combinations order).
  const std::vector<float>& powerset_mapping() const { return mapping_; }

 private:
  PyannoteSegmentation() = default;
  static constexpr int64_t kMaxBatch = 32;  // windows per pass (memory bound)
  Tensor forward_chunk(const ExecContext& ctx, const Tensor& waveforms) const;
  // |sinc filterbank(instance norm(waveforms [B, samples]))| -> [B, 80, L].
  Tensor sinc_front(const ExecContext& ctx, const Tensor& waveforms) const;
  // The same for windows [i * step, + window) of `audio` (step a multiple of the stride).
  Tensor sinc_front_sliding(const ExecContext& ctx, std::span<const float> audio, int64_t step,
                            int count) const;
  // Everything after the sinc front: classifier activations [B, frames, num_classes].
  Tensor forward_from_sinc(const ExecContext& ctx, const Tensor& sinc) const;
  // Runs `chunk(first, n)` (classifier activations [n, frames, num_classes]) over `count`
  // windows, kMaxBatch at a time, into one [count, frames, num_classes] tensor.
  Tensor in_chunks(const ExecContext& ctx, int64_t count, int frames,
                   const std::function<Tensor(int64_t first, int64_t n)>& chunk) const;
  // Powerset log-probs -> hard per-speaker activity (identity for multilabel).
  Tensor to_speakers(const ExecContext& ctx, Tensor raw) const;
  struct Norm {
    Tensor gamma, beta;
  };
  Device device_;
  int stride_ = 10;
  double window_s_ = 0;
  int num_speakers_ = 0, num_classes_ = 0;
  bool powerset_ = false;
  double rf_start_ = 0, rf_size_ = 0, rf_step_ = 0;  // in samples
  Norm wav_norm_;
  Tensor sinc_filters_, sinc_bias_;      // [80, 1, 251], zeros [80]
  std::vector<double> sinc_sums_;        // per filter: the sum of its taps
  double wav_gamma_ = 1, wav_beta_ = 0;  // wav_norm_ on the host (sinc_front_sliding)
  Tensor conv_w_[2], conv_b_[2];
  Norm norms_[3];
  // Per LSTM layer: forward and (when bidirectional) backward weights.
  std::vector<std::vector<ops::LstmWeights>> lstm_;
  std::vector<ops::LinearWeight> linear_;
  ops::LinearWeight classifier_;
  std::vector<float> mapping_;
};

}  // namespace voiceman::models
