#pragma once
// Small mixed-radix FFTs for the STFT (n_fft = 400 = 2 * 2^3 * 5^2). Plans are
// immutable after construction, so one plan can serve many threads.
#include <complex>
#include <vector>

namespace voiceman::features {

// Forward complex DFT, X[k] = sum_n x[n] exp(-2 pi i n k / N), for any N >= 1.
// Radix 2, 4 and 5 have dedicated butterflies; other prime factors use a direct DFT.
class ComplexFft {
 public:
  explicit ComplexFft(int n);
  int size() const { return n_; }
  // out must hold size() values and must not alias in.
  void forward(const std::complex<double>* in, std::complex<double>* out) const;

 private:
  void pass(const std::complex<double>* in, int stride, std::complex<double>* out, int n,
            int level) const;

  int n_;
  std::vector<int> factors_;
  std::vector<std::complex<double>> twiddles_;  // exp(-2 pi i j / n_), j < n_
};

// Forward DFT of a real sequence of even length N: bins 0..N/2 (the onesided rfft),
// computed with one complex FFT of length N/2.
class RealFft {
 public:
  explicit RealFft(int n);
  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }
  // in: size() reals; out: bins() values.
  void forward(const double* in, std::complex<double>* out) const;

 private:
  int n_;
  ComplexFft half_;
  std::vector<std::complex<double>> twiddles_;  // exp(-2 pi i k / n_), k <= n_/2
};

}  // namespace voiceman::features
