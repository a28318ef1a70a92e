#include "voiceman/features/mel.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace voiceman::features {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Index into the zero-padded waveform (length `size`) for a position of the STFT's
// reflect-padded signal, as np.pad(mode="reflect") resolves it, repeated reflection
// included when the pad is longer than the signal.
int64_t reflect(int64_t i, int64_t size) {
  if (i >= 0 && i < size) return i;
  if (size == 1) return 0;
  const int64_t period = 2 * (size - 1);
  i = std::abs(i) % period;
  return i < size ? i : period - i;
}

}  // namespace

std::vector<double> MelExtractor::mel_filters(int n_mels, int sample_rate, int n_fft) {
  if (n_mels < 1) throw std::invalid_argument("n_mels must be >= 1");
  const int bins = n_fft / 2 + 1;
  // np.fft.rfftfreq(n_fft, 1 / sr)
  const double spacing = 1.0 / (n_fft * (1.0 / sample_rate));
  std::vector<double> fft_freqs(static_cast<size_t>(bins));
  for (int k = 0; k < bins; ++k) fft_freqs[static_cast<size_t>(k)] = k * spacing;

  // n_mels + 2 points evenly spaced on the Slaney mel scale up to 8000 Hz, as np.linspace.
  const double max_mel = 45.245640471924965;
  const int points = n_mels + 2;
  const double mel_step = max_mel / (points - 1);
  const double f_sp = 200.0 / 3;
  const double min_log_hz = 1000.0;
  const double min_log_mel = min_log_hz / f_sp;
  const double log_step = std::log(6.4) / 27.0;
  std::vector<double> freqs(static_cast<size_t>(points));
  for (int i = 0; i < points; ++i) {
    const double mel = i == points - 1 ? max_mel : i * mel_step;
    freqs[static_cast<size_t>(i)] =
        mel >= min_log_mel ? min_log_hz * std::exp(log_step * (mel - min_log_mel)) : f_sp * mel;
  }

  std::vector<double> weights(static_cast<size_t>(n_mels) * bins);
  for (int m = 0; m < n_mels; ++m) {
    const double lo = freqs[m], center = freqs[m + 1], hi = freqs[m + 2];
    const double enorm = 2.0 / (hi - lo);  // Slaney: constant energy per band
    for (int k = 0; k < bins; ++k) {
      const double f = fft_freqs[static_cast<size_t>(k)];
      const double lower = -(lo - f) / (center - lo);
      const double upper = (hi - f) / (hi - center);
      weights[static_cast<size_t>(m) * bins + k] = std::max(0.0, std::min(lower, upper)) * enorm;
    }
  }
  return weights;
}

MelExtractor::MelExtractor(int n_mels) : n_mels_(n_mels), fft_(kNfft) {
  const std::vector<double> weights = mel_filters(n_mels);
  filters_.assign(weights.begin(), weights.end());
  band_begin_.assign(static_cast<size_t>(n_mels), 0);
  band_end_.assign(static_cast<size_t>(n_mels), 0);
  for (int m = 0; m < n_mels; ++m) {
    const float* row = filters_.data() + static_cast<size_t>(m) * kBins;
    int begin = 0, end = kBins;
    while (begin < end && row[begin] == 0.0f) ++begin;
    while (end > begin && row[end - 1] == 0.0f) --end;
    band_begin_[static_cast<size_t>(m)] = begin;
    band_end_[static_cast<size_t>(m)] = end;
  }
  // np.hanning(401)[:-1]: numpy's symmetric form 0.5 + 0.5 cos(pi n / 400), n = -400, -398...
  window_.resize(kNfft);
  for (int j = 0; j < kNfft; ++j) {
    window_[static_cast<size_t>(j)] =
        static_cast<float>(0.5 + 0.5 * std::cos(kPi * (-kNfft + 2 * j) / kNfft));
  }
}

std::vector<float> MelExtractor::compute(std::span<const float> audio, int padding,
                                         int* frames_out) const {
  if (padding < 0) throw std::invalid_argument("padding must be >= 0");
  const auto samples = static_cast<int64_t>(audio.size());
  const int64_t size = samples + padding;  // waveform after the appended zeros
  // Centered STFT over size + 2 * (kNfft / 2) samples gives 1 + size / kHop frames;
  // faster-whisper drops the last one.
  const int64_t frames = size / kHop;
  if (frames_out) *frames_out = static_cast<int>(frames);
  if (frames == 0) return {};

  std::vector<float> out(static_cast<size_t>(n_mels_) * static_cast<size_t>(frames));
  const float* wave = audio.data();
  float peak = -std::numeric_limits<float>::infinity();

#pragma omp parallel for schedule(static) reduction(max : peak) if (frames >= 64)
  for (int64_t t = 0; t < frames; ++t) {
    double frame[kNfft];
    std::complex<double> spectrum[kBins];
    double power[kBins];
    const int64_t start = t * kHop - kNfft / 2;  // in waveform coordinates
    if (start >= 0 && start + kNfft <= samples) {
      for (int j = 0; j < kNfft; ++j) frame[j] = wave[start + j] * window_[static_cast<size_t>(j)];
    } else {
      for (int j = 0; j < kNfft; ++j) {
        const int64_t i = reflect(start + j, size);
        const float x = i < samples ? wave[i] : 0.0f;
        frame[j] = x * window_[static_cast<size_t>(j)];  // float product, as numpy's
      }
    }
    fft_.forward(frame, spectrum);
    for (int k = 0; k < kBins; ++k) power[k] = std::norm(spectrum[k]);
    for (int m = 0; m < n_mels_; ++m) {
      const float* row = filters_.data() + static_cast<size_t>(m) * kBins;
      double sum = 0.0;
      for (int k = band_begin_[static_cast<size_t>(m)]; k < band_end_[static_cast<size_t>(m)];
           ++k) {
        sum += static_cast<double>(row[k]) * power[k];
      }
      // fmax: a NaN power (a NaN sample in the frame) is the floor, as on the GPU.
      const float value = std::log10(std::fmax(static_cast<float>(sum), 1e-10f));
      out[static_cast<size_t>(m) * static_cast<size_t>(frames) + static_cast<size_t>(t)] = value;
      peak = std::max(peak, value);
    }
  }

  const float floor = peak - 8.0f;
  for (float& v : out) v = (std::max(v, floor) + 4.0f) / 4.0f;
  return out;
}

}  // namespace voiceman::features
