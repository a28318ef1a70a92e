#include "voiceman/features/fft.h"

#include <cmath>
#include <stdexcept>

namespace voiceman::features {
namespace {

using cd = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;
constexpr int kMaxDirectRadix = 64;  // larger prime factors would make the direct DFT slow

cd unit(double turns) { return {std::cos(2.0 * kPi * turns), -std::sin(2.0 * kPi * turns)}; }

// Multiplies by -i.
cd mul_neg_i(cd v) { return {v.imag(), -v.real()}; }

}  // namespace

ComplexFft::ComplexFft(int n) : n_(n) {
  if (n < 1) throw std::invalid_argument("FFT size must be >= 1");
  int rest = n;
  // Prefer radix 4, then 2, 5, 3, then any remaining prime.
  for (int radix : {4, 2, 5, 3}) {
    while (rest % radix == 0) {
      factors_.push_back(radix);
      rest /= radix;
    }
  }
  for (int p = 7; rest > 1; p += 2) {
    while (rest % p == 0) {
      if (p > kMaxDirectRadix) throw std::invalid_argument("FFT size has a large prime factor");
      factors_.push_back(p);
      rest /= p;
    }
  }
  twiddles_.resize(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) twiddles_[static_cast<size_t>(j)] = unit(static_cast<double>(j) / n);
}

void ComplexFft::forward(const cd* in, cd* out) const { pass(in, 1, out, n_, 0); }

// Decimation in time: split x into p interleaved subsequences, transform each (they land
// contiguously in out), then combine with twiddles and a p-point butterfly in place.
void ComplexFft::pass(const cd* in, int stride, cd* out, int n, int level) const {
  if (n == 1) {
    out[0] = in[0];
    return;
  }
  const int p = factors_[static_cast<size_t>(level)];
  const int m = n / p;
  for (int r = 0; r < p; ++r) pass(in + r * stride, stride * p, out + r * m, m, level + 1);

  const int step = n_ / n;  // twiddles_[step * j] = exp(-2 pi i j / n)
  // Radix <= 5 uses a small array; the generic case a buffer (rare: only odd FFT sizes).
  cd small[5];
  std::vector<cd> large(p > 5 ? static_cast<size_t>(p) : 0);
  cd* t = p > 5 ? large.data() : small;
  for (int k = 0; k < m; ++k) {
    t[0] = out[k];
    for (int r = 1; r < p; ++r) out[r * m + k] *= twiddles_[static_cast<size_t>(step * r * k)];
    for (int r = 1; r < p; ++r) t[r] = out[r * m + k];
    switch (p) {
      case 2:
        out[k] = t[0] + t[1];
        out[k + m] = t[0] - t[1];
        break;
      case 4: {
        const cd a = t[0] + t[2], b = t[0] - t[2], c = t[1] + t[3], d = mul_neg_i(t[1] - t[3]);
        out[k] = a + c;
        out[k + m] = b + d;
        out[k + 2 * m] = a - c;
        out[k + 3 * m] = b - d;
        break;
      }
      case 5: {
        static const double c1 = std::cos(2 * kPi / 5), c2 = std::cos(4 * kPi / 5);
        static const double s1 = std::sin(2 * kPi / 5), s2 = std::sin(4 * kPi / 5);
        const cd sa = t[1] + t[4], da = t[1] - t[4], sb = t[2] + t[3], db = t[2] - t[3];
        const cd e1 = t[0] + c1 * sa + c2 * sb, e2 = t[0] + c2 * sa + c1 * sb;
        const cd o1 = mul_neg_i(s1 * da + s2 * db), o2 = mul_neg_i(s2 * da - s1 * db);
        out[k] = t[0] + sa + sb;
        out[k + m] = e1 + o1;
        out[k + 4 * m] = e1 - o1;
        out[k + 2 * m] = e2 + o2;
        out[k + 3 * m] = e2 - o2;
        break;
      }
      default: {
        const int pstep = n_ / p;  // twiddles_[pstep * j] = exp(-2 pi i j / p)
        for (int q = 0; q < p; ++q) {
          cd sum = t[0];
          for (int r = 1; r < p; ++r)
            sum += t[r] * twiddles_[static_cast<size_t>(pstep * ((r * q) % p))];
          out[k + q * m] = sum;
        }
      }
    }
  }
}

RealFft::RealFft(int n) : n_(n), half_(n / 2) {
  if (n < 2 || n % 2 != 0) throw std::invalid_argument("real FFT size must be even and >= 2");
  twiddles_.resize(static_cast<size_t>(n / 2 + 1));
  for (int k = 0; k <= n / 2; ++k)
    twiddles_[static_cast<size_t>(k)] = unit(static_cast<double>(k) / n);
}

void RealFft::forward(const double* in, cd* out) const {
  // Pack even samples as real and odd as imaginary parts, transform once, then split the
  // spectra of the two halves apart: X[k] = E[k] + exp(-2 pi i k / N) O[k].
  const int m = n_ / 2;
  constexpr int kStack = 256;  // covers n_fft 400 without touching the heap
  cd stack[2 * kStack];
  std::vector<cd> heap;
  cd* z = stack;
  if (m > kStack) {
    heap.resize(2 * static_cast<size_t>(m));
    z = heap.data();
  }
  cd* spectrum = z + m;
  for (int j = 0; j < m; ++j) z[j] = cd(in[2 * j], in[2 * j + 1]);
  half_.forward(z, spectrum);
  for (int k = 0; k <= m; ++k) {
    const cd a = spectrum[k % m];
    const cd b = std::conj(spectrum[(m - k) % m]);
    const cd even = 0.5 * (a + b);
    const cd odd = mul_neg_i(0.5 * (a - b));  // (a - b) / (2i)
    out[k] = even + twiddles_[static_cast<size_t>(k)] * odd;
  }
}

}  // namespace voiceman::features
