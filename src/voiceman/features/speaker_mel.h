#pragma once
// The speaker encoder's front-end: resemblyzer's wav_to_mel_spectrogram, i.e.
// librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40) with its
// defaults: zero-padded centred frames, periodic Hann window, power spectrum, Slaney mel
// filters. Not a log-mel: the LSTM sees mel power.
#include <span>
#include <vector>

#include "voiceman/features/fft.h"

namespace voiceman::features {

class SpeakerMel {
 public:
  static constexpr int kSampleRate = 16000, kNfft = 400, kHop = 160, kMels = 40;

  SpeakerMel();
  // Frames of `audio` (16 kHz): 1 + size / kHop.
  static int num_frames(size_t samples) { return 1 + static_cast<int>(samples / kHop); }
  // Mel power spectrogram [frames x kMels], row-major (time first, as resemblyzer's .T).
  std::vector<float> compute(std::span<const float> audio) const;

 private:
  std::vector<float> filters_;  // [kMels x bins], float32 like librosa's
  std::vector<double> window_;
  RealFft fft_;
};

}  // namespace voiceman::features
