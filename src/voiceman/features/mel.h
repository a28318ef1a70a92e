#pragma once
// Whisper's log-mel spectrogram, computed exactly as faster-whisper 1.2.1's
// FeatureExtractor does (same STFT framing, filter bank, log and dynamic-range clamp).
#include <span>
#include <vector>

#include "voiceman/features/fft.h"

namespace voiceman::features {

// The GPU's DFT precision (the CPU always computes in double). float64 gives the CPU's
// spectrum, which the parity runs compare. float32 is for half-precision encoders: its
// error on the features (at most 3e-5 on the dev clips) is far below their rounding to
// float16 (5e-4), and it spares GPUs with few FP64 units (GB10: 1/64 of its FP32 rate)
// about a gigaflop of double arithmetic per 30 s window.
enum class SpectrumPrecision { float64, float32 };

class MelExtractor {
 public:
  explicit MelExtractor(int n_mels = 80);  // 80, or 128 for large-v3

  // Log-mel spectrogram [n_mels x frames], row-major, as FeatureExtractor.__call__(audio,
  // padding=padding): `padding` zeros are appended, frames = (size + padding) / kHop.
  // The -8 dynamic-range floor is taken from the maximum over the whole input, so the
  // result for a slice of a recording differs from the slice of the whole result.
  std::vector<float> compute(std::span<const float> audio, int padding = 160,
                             int* frames_out = nullptr) const;

  int n_mels() const { return n_mels_; }
  // The filter bank [n_mels x kBins] as float32, the values faster-whisper multiplies by.
  const std::vector<float>& filters() const { return filters_; }
  // The analysis window [kNfft], float32 as numpy's cast (the GPU path reads it too).
  const std::vector<float>& window() const { return window_; }

  static constexpr int kNfft = 400, kHop = 160, kChunkFrames = 3000;  // 30 s window
  static constexpr int kBins = kNfft / 2 + 1;
  static constexpr int kSampleRate = 16000;

  // Slaney-style mel filters as librosa/faster-whisper build them, in double precision.
  static std::vector<double> mel_filters(int n_mels, int sample_rate = kSampleRate,
                                         int n_fft = kNfft);

 private:
  int n_mels_;
  std::vector<float> filters_;
  std::vector<int> band_begin_, band_end_;  // nonzero bin range of each filter
  std::vector<float> window_;               // periodic Hann, float32 like numpy's cast
  RealFft fft_;
};

}  // namespace voiceman::features
