#include "voiceman/audio/resample.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace voiceman::audio {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kZeroCrossings = 32;
constexpr double kRolloff = 0.95;
constexpr double kKaiserBeta = 8.6;
constexpr int kTablePerCrossing = 512;
constexpr int64_t kMaxPhases = 1024;

// Modified Bessel function of the first kind, order 0 (power series; converges fast
// for the small arguments a Kaiser window uses).
double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

}  // namespace

Resampler::Resampler(int in_rate, int out_rate) : in_rate_(in_rate), out_rate_(out_rate) {
  if (in_rate <= 0 || out_rate <= 0) throw std::invalid_argument("sample rates must be > 0");
  // Cutoff in cycles per input sample, below the Nyquist rate of the lower of the two rates.
  const double fc = 0.5 * kRolloff * std::min(1.0, static_cast<double>(out_rate) / in_rate);
  const double crossing = 1.0 / (2.0 * fc);  // input samples between sinc zero crossings
  half_width_ = kZeroCrossings * crossing;
  table_step_ = crossing / kTablePerCrossing;
  const int entries = kZeroCrossings * kTablePerCrossing;
  table_.assign(entries + 2, 0.0);  // the last two stay 0: the window ends at half_width_
  const double norm = bessel_i0(kKaiserBeta);
  for (int n = 0; n < entries; ++n) {
    const double t = n * table_step_;
    const double x = 2.0 * fc * t;
    const double sinc = n == 0 ? 1.0 : std::sin(kPi * x) / (kPi * x);
    const double r = t / half_width_;
    const double window = bessel_i0(kKaiserBeta * std::sqrt(std::max(0.0, 1.0 - r * r))) / norm;
    table_[n] = 2.0 * fc * sinc * window;
  }
  phase_step_ = std::gcd(in_rate, out_rate);
  const int64_t count = out_rate / phase_step_;
  if (count <= kMaxPhases) {
    phases_.resize(static_cast<size_t>(count));
    for (int64_t k = 0; k < count; ++k) {
      const double frac = static_cast<double>(k * phase_step_) / out_rate;
      Phase& phase = phases_[static_cast<size_t>(k)];
      phase.first = static_cast<int>(std::ceil(frac - half_width_));
      const int last = static_cast<int>(std::floor(frac + half_width_));
      for (int i = phase.first; i <= last; ++i) {
        phase.taps.push_back(static_cast<float>(kernel(frac - i)));
      }
    }
  }
}

double Resampler::kernel(double t) const {
  const double x = std::abs(t) / table_step_;
  const auto index = static_cast<size_t>(x);
  if (index + 1 >= table_.size()) return 0.0;
  const double frac = x - static_cast<double>(index);
  return table_[index] + (table_[index + 1] - table_[index]) * frac;
}

void Resampler::emit(std::vector<float>& output, int64_t available_end, bool final) {
  const int64_t total_out = final ? (total_in_ * out_rate_ + in_rate_ / 2) / in_rate_ : INT64_MAX;
  while (next_out_ < total_out) {
    // Exact rational position of this output sample on the input time axis.
    const int64_t num = next_out_ * in_rate_;
    const int64_t whole = num / out_rate_;
    const double t = static_cast<double>(whole) +
                     static_cast<double>(num % out_rate_) / static_cast<double>(out_rate_);
    const Phase* phase =
        phases_.empty() ? nullptr : &phases_[static_cast<size_t>((num % out_rate_) / phase_step_)];
    const int64_t first =
        phase ? whole + phase->first : static_cast<int64_t>(std::ceil(t - half_width_));
    const int64_t hi = phase ? first + static_cast<int64_t>(phase->taps.size()) - 1
                             : static_cast<int64_t>(std::floor(t + half_width_));
    if (!final && hi >= available_end) break;
    const int64_t lo = std::max<int64_t>(first, 0);  // zeros outside the input
    const int64_t end = std::min<int64_t>(hi + 1, total_in_);
    const float* x = history_.data() + (lo - history_start_);
    const auto n = static_cast<size_t>(std::max<int64_t>(end - lo, 0));
    double acc = 0.0;
    if (phase) {
      const float* h = phase->taps.data() + (lo - first);
      double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;  // independent sums for ILP
      size_t i = 0;
      for (; i + 4 <= n; i += 4) {
        a0 += static_cast<double>(x[i]) * h[i];
        a1 += static_cast<double>(x[i + 1]) * h[i + 1];
        a2 += static_cast<double>(x[i + 2]) * h[i + 2];
        a3 += static_cast<double>(x[i + 3]) * h[i + 3];
      }
      for (; i < n; ++i) a0 += static_cast<double>(x[i]) * h[i];
      acc = (a0 + a1) + (a2 + a3);
    } else {
      for (size_t i = 0; i < n; ++i) {
        acc += static_cast<double>(x[i]) * kernel(t - static_cast<double>(lo + i));
      }
    }
    output.push_back(static_cast<float>(acc));
    ++next_out_;
  }
  // Drop input no future output can reach; in large steps so erasing stays cheap.
  const double t_next = static_cast<double>(next_out_) * in_rate_ / out_rate_;
  const int64_t keep_from = static_cast<int64_t>(std::floor(t_next - half_width_)) - 1;
  if (keep_from - history_start_ > (1 << 16)) {
    history_.erase(history_.begin(), history_.begin() + (keep_from - history_start_));
    history_start_ = keep_from;
  }
}

void Resampler::push(std::span<const float> input, std::vector<float>& output) {
  history_.insert(history_.end(), input.begin(), input.end());
  total_in_ += static_cast<int64_t>(input.size());
  emit(output, total_in_, false);
}

void Resampler::finish(std::vector<float>& output) { emit(output, total_in_, true); }

std::vector<float> resample(std::span<const float> input, int in_rate, int out_rate) {
  if (in_rate == out_rate) return {input.begin(), input.end()};
  Resampler resampler(in_rate, out_rate);
  std::vector<float> output;
  output.reserve(static_cast<size_t>(static_cast<int64_t>(input.size()) * out_rate / in_rate + 1));
  resampler.push(input, output);
  resampler.finish(output);
  return output;
}

}  // namespace voiceman::audio
