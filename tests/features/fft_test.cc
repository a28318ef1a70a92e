#include "voiceman/features/fft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

namespace voiceman::features {
namespace {

using cd = std::complex<double>;

std::vector<cd> naive_dft(const std::vector<cd>& x) {
  const size_t n = x.size();
  std::vector<cd> out(n);
  for (size_t k = 0; k < n; ++k) {
    cd sum = 0.0;
    for (size_t j = 0; j < n; ++j) {
      const double angle = -2.0 * M_PI * static_cast<double>((j * k) % n) / static_cast<double>(n);
      sum += x[j] * cd(std::cos(angle), std::sin(angle));
    }
    out[k] = sum;
  }
  return out;
}

std::vector<cd> random_signal(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<cd> x(n);
  for (auto& v : x) v = cd(dist(gen), dist(gen));
  return x;
}

class ComplexFftSizes : public ::testing::TestWithParam<int> {};

TEST_P(ComplexFftSizes, MatchesNaiveDft) {
  const int n = GetParam();
  const auto x = random_signal(static_cast<size_t>(n), static_cast<unsigned>(n));
  const auto expected = naive_dft(x);
  ComplexFft fft(n);
  std::vector<cd> got(static_cast<size_t>(n));
  fft.forward(x.data(), got.data());
  for (int k = 0; k < n; ++k) {
    EXPECT_NEAR(got[k].real(), expected[k].real(), 1e-10 * n) << "n=" << n << " k=" << k;
    EXPECT_NEAR(got[k].imag(), expected[k].imag(), 1e-10 * n) << "n=" << n << " k=" << k;
  }
}

// Every butterfly: radix 2, 4, 5, the generic path (3, 7, 11) and mixed sizes.
INSTANTIATE_TEST_SUITE_P(Sizes, ComplexFftSizes,
                         ::testing::Values(1, 2, 3, 4, 5, 7, 8, 11, 12, 25, 49, 200, 210, 400));

TEST(RealFft, MatchesNaiveDftOnStftSize) {
  for (int n : {2, 10, 400, 1024}) {
    auto complex_input = random_signal(static_cast<size_t>(n), 99);
    std::vector<double> x(static_cast<size_t>(n));
    for (int j = 0; j < n; ++j) {
      x[j] = complex_input[j].real();
      complex_input[j] = cd(x[j], 0.0);
    }
    const auto expected = naive_dft(complex_input);
    RealFft fft(n);
    ASSERT_EQ(fft.bins(), n / 2 + 1);
    std::vector<cd> got(static_cast<size_t>(fft.bins()));
    fft.forward(x.data(), got.data());
    for (int k = 0; k < fft.bins(); ++k) {
      EXPECT_NEAR(got[k].real(), expected[k].real(), 1e-10 * n) << "n=" << n << " k=" << k;
      EXPECT_NEAR(got[k].imag(), expected[k].imag(), 1e-10 * n) << "n=" << n << " k=" << k;
    }
  }
}

TEST(RealFft, PureToneLandsInOneBin) {
  constexpr int n = 400;
  std::vector<double> x(n);
  for (int j = 0; j < n; ++j) x[j] = std::cos(2.0 * M_PI * 37 * j / n);
  RealFft fft(n);
  std::vector<cd> out(static_cast<size_t>(fft.bins()));
  fft.forward(x.data(), out.data());
  for (int k = 0; k < fft.bins(); ++k) {
    EXPECT_NEAR(std::abs(out[k]), k == 37 ? n / 2.0 : 0.0, 1e-9) << "bin " << k;
  }
}

TEST(Fft, RejectsBadSizes) {
  EXPECT_THROW(ComplexFft(0), std::invalid_argument);
  EXPECT_THROW(RealFft(401), std::invalid_argument);
  EXPECT_THROW(ComplexFft(2 * 67), std::invalid_argument);  // prime factor too large
}

}  // namespace
}  // namespace voiceman::features
