#pragma once
// Kaldi-style log mel filterbank, as torchaudio.compliance.kaldi.fbank computes it with the
// options WeSpeaker's ResNets use: 25 ms frames every 10 ms with snip_edges (no padding),
// DC offset removed, pre-emphasis 0.97, Hamming window, FFT size rounded up to a power of
// two (512), power spectrum, 80 triangular mel bands (Kaldi's mel scale 1127 ln(1 + f/700),
// 20 Hz to Nyquist), log floored at float32 epsilon. No dither, no energy.
#include <span>
#include <vector>

#include "voiceman/features/fft.h"

namespace voiceman::features {

class KaldiFbank {
 public:
  static constexpr int kSampleRate = 16000, kFrameLength = 400, kFrameShift = 160, kNfft = 512;

  explicit KaldiFbank(int num_mel_bins = 80);
  int num_mel_bins() const { return bins_; }
  // Frames of `samples` (snip_edges): 0 under one frame, else 1 + (samples - 400) / 160.
  static int num_frames(size_t samples);
  // Log mel energies [frames x num_mel_bins], row-major. `audio` at the scale the model
  // expects (WeSpeaker: int16 scale, i.e. [-1, 1] samples times 32768).
  std::vector<float> compute(std::span<const float> audio) const;

 private:
  int bins_;
  std::vector<float> banks_;  // [bins x kNfft / 2]
  std::vector<double> window_;
  RealFft fft_;
};

}  // namespace voiceman::features
