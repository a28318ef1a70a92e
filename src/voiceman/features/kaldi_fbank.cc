#include "voiceman/features/kaldi_fbank.h"

#include <cmath>
#include <complex>
#include <limits>

namespace voiceman::features {

namespace {

double mel(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }

}  // namespace

KaldiFbank::KaldiFbank(int num_mel_bins) : bins_(num_mel_bins), window_(kFrameLength), fft_(kNfft) {
  // Kaldi's symmetric Hamming window.
  for (int n = 0; n < kFrameLength; ++n)
    window_[static_cast<size_t>(n)] = 0.54 - 0.46 * std::cos(2 * M_PI * n / (kFrameLength - 1));
  // Triangles equally spaced on the mel scale between 20 Hz and Nyquist; the Nyquist bin
  // gets no weight (torchaudio pads the [bins x 256] matrix with a zero column).
  const int fft_bins = kNfft / 2;
  const double low = mel(20.0), high = mel(kSampleRate / 2.0);
  const double delta = (high - low) / (bins_ + 1);
  banks_.assign(static_cast<size_t>(bins_) * fft_bins, 0.f);
  for (int b = 0; b < bins_; ++b) {
    const double left = low + b * delta, center = left + delta, right = center + delta;
    for (int i = 0; i < fft_bins; ++i) {
      const double m = mel(i * double(kSampleRate) / kNfft);
      const double up = (m - left) / (center - left), down = (right - m) / (right - center);
      banks_[static_cast<size_t>(b) * fft_bins + i] =
          static_cast<float>(std::max(0.0, std::min(up, down)));
    }
  }
}

int KaldiFbank::num_frames(size_t samples) {
  return samples < size_t{kFrameLength}
             ? 0
             : 1 + static_cast<int>((samples - kFrameLength) / kFrameShift);
}

std::vector<float> KaldiFbank::compute(std::span<const float> audio) const {
  const int frames = num_frames(audio.size());
  const int fft_bins = kNfft / 2;
  std::vector<float> out(static_cast<size_t>(frames) * bins_);
  std::vector<double> frame(kNfft, 0.0), power(static_cast<size_t>(fft_bins));
  std::vector<std::complex<double>> spec(static_cast<size_t>(fft_bins + 1));
  const double floor = std::numeric_limits<float>::epsilon();
  for (int t = 0; t < frames; ++t) {
    const float* x = audio.data() + static_cast<size_t>(t) * kFrameShift;
    double mean = 0;
    for (int n = 0; n < kFrameLength; ++n) mean += x[n];
    mean /= kFrameLength;
    // Pre-emphasis after DC removal; the first sample uses itself as its predecessor.
    for (int n = kFrameLength - 1; n >= 0; --n) {
      const double cur = x[n] - mean, prev = (n ? x[n - 1] : x[0]) - mean;
      frame[static_cast<size_t>(n)] = (cur - 0.97 * prev) * window_[static_cast<size_t>(n)];
    }
    std::fill(frame.begin() + kFrameLength, frame.end(), 0.0);
    fft_.forward(frame.data(), spec.data());
    for (int k = 0; k < fft_bins; ++k)
      power[static_cast<size_t>(k)] = std::norm(spec[static_cast<size_t>(k)]);
    for (int b = 0; b < bins_; ++b) {
      const float* bank = banks_.data() + static_cast<size_t>(b) * fft_bins;
      double e = 0;
      for (int k = 0; k < fft_bins; ++k) e += bank[k] * power[static_cast<size_t>(k)];
      out[static_cast<size_t>(t) * bins_ + b] = static_cast<float>(std::log(std::max(e, floor)));
    }
  }
  return out;
}

}  // namespace voiceman::features
