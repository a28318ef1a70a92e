#include "voiceman/features/speaker_mel.h"

#include <cmath>
#include <complex>

#include "voiceman/features/mel.h"

namespace voiceman::features {

SpeakerMel::SpeakerMel() : window_(kNfft), fft_(kNfft) {
  const std::vector<double> w = MelExtractor::mel_filters(kMels, kSampleRate, kNfft);
  filters_.assign(w.begin(), w.end());
  // scipy's get_window("hann", fftbins=True): the periodic window.
  for (int n = 0; n < kNfft; ++n) {
    const float v = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * n / kNfft));
    window_[static_cast<size_t>(n)] = v;  // librosa multiplies by the float32 window
  }
}

std::vector<float> SpeakerMel::compute(std::span<const float> audio) const {
  const int frames = num_frames(audio.size());
  const int bins = kNfft / 2 + 1;
  const int64_t size = static_cast<int64_t>(audio.size());
  std::vector<float> out(static_cast<size_t>(frames) * kMels);
  std::vector<double> frame(kNfft), power(static_cast<size_t>(bins));
  std::vector<std::complex<double>> spec(static_cast<size_t>(bins));
  for (int t = 0; t < frames; ++t) {
    // center=True with pad_mode="constant": the frame starts kNfft/2 before t * kHop.
    const int64_t start = int64_t{t} * kHop - kNfft / 2;
    for (int n = 0; n < kNfft; ++n) {
      const int64_t i = start + n;
      frame[static_cast<size_t>(n)] = (i >= 0 && i < size ? audio[static_cast<size_t>(i)] : 0.0f) *
                                      window_[static_cast<size_t>(n)];
    }
    fft_.forward(frame.data(), spec.data());
    for (int k = 0; k < bins; ++k)
      power[static_cast<size_t>(k)] = std::norm(spec[static_cast<size_t>(k)]);
    for (int m = 0; m < kMels; ++m) {
      const float* row = filters_.data() + static_cast<size_t>(m) * bins;
      double acc = 0;
      for (int k = 0; k < bins; ++k) acc += row[k] * power[static_cast<size_t>(k)];
      out[static_cast<size_t>(t) * kMels + m] = static_cast<float>(acc);
    }
  }
  return out;
}

}  // namespace voiceman::features
