#include "voiceman/decoding/dtw.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>

#include "voiceman/core/errors.h"
#include "voiceman/decoding/alignment.h"

namespace voiceman::decoding {
namespace {

using Ints = std::vector<int32_t>;

TEST(Dtw, FollowsTheCheapDiagonal) {
  const std::vector<float> cost = {0, 5, 5, 5, 0, 5, 5, 5, 0};
  const DtwPath p = dtw(cost, 3, 3);
  EXPECT_EQ(p.text_indices, (Ints{0, 1, 2}));
  EXPECT_EQ(p.time_indices, (Ints{0, 1, 2}));
}

TEST(Dtw, RectangularPathStaysOnCheapCells) {
  const std::vector<float> cost = {0, 0, 9, 9, 9, 9, 0, 0};
  const DtwPath p = dtw(cost, 2, 4);
  EXPECT_EQ(p.text_indices, (Ints{0, 0, 1, 1}));
  EXPECT_EQ(p.time_indices, (Ints{0, 1, 2, 3}));
}

TEST(Dtw, TiesFallBackToTheLeftStep) {
  // All equal: the diagonal never wins a tie, "up" needs to be strictly best, so the
  // trace takes "left" at (1,1) and the path goes down column 0 first.
  const std::vector<float> zeros(4, 0.0f);
  const DtwPath p = dtw(zeros, 2, 2);
  EXPECT_EQ(p.text_indices, (Ints{0, 1, 1}));
  EXPECT_EQ(p.time_indices, (Ints{0, 0, 1}));
  // Even a worse left beats a tie between diagonal and up (2x4 case above, cell (1,1)).
}

TEST(Dtw, NegativeDtwMaximizesWeights) {
  const std::vector<float> weights = {1, 0.5f, 0, 0, 0.2f, 1};
  const DtwPath p = negative_dtw(weights, 2, 3);
  EXPECT_EQ(p.text_indices, (Ints{0, 0, 1, 1}));
  EXPECT_EQ(p.time_indices, (Ints{0, 1, 1, 2}));
  std::vector<float> negated(weights);
  for (float& w : negated) w = -w;
  const DtwPath q = dtw(negated, 2, 3);
  EXPECT_EQ(p.text_indices, q.text_indices);
  EXPECT_EQ(p.time_indices, q.time_indices);
}

// openai-whisper's test: a random matrix with a cheaper (by 1) monotonic path through it.
TEST(Dtw, RecoversAPlantedPathInARandomMatrix) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const int n = 40, m = 60;
    std::mt19937 rng(seed);
    std::vector<int> steps(size_t(n - 1), 0);
    steps.resize(size_t(n + m - 2), 1);
    for (size_t i = steps.size() - 1; i > 0; --i) {
      std::swap(steps[i], steps[std::uniform_int_distribution<size_t>(0, i)(rng)]);
    }
    std::vector<float> x(size_t(n * m));
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (float& v : x) v = unit(rng);
    Ints rows, cols;
    size_t i = 0, j = 0, k = 0;
    while (true) {
      x[i * size_t(m) + j] -= 1;
      rows.push_back(int32_t(i));
      cols.push_back(int32_t(j));
      if (k == steps.size()) break;
      if (k + 1 < steps.size() && steps[k] != steps[k + 1]) {  // a diagonal move
        ++i, ++j, k += 2;
      } else if (steps[k] == 0) {
        ++i, ++k;
      } else {
        ++j, ++k;
      }
    }
    const DtwPath p = dtw(x, n, m);
    EXPECT_EQ(p.text_indices, rows) << "seed " << seed;
    EXPECT_EQ(p.time_indices, cols) << "seed " << seed;
  }
}

TEST(MedianFilter, ReflectsAtTheEdges) {
  std::vector<float> row = {1, 9, 2, 8, 3};
  median_filter(row, 1, 5, 3);
  EXPECT_EQ(row, (std::vector<float>{9, 2, 8, 3, 8}));
  // numpy: np.median(sliding_window_view(np.pad([4,1,3,2], 3, "reflect"), 7), -1)
  std::vector<float> two_rows = {4, 1, 3, 2, 0, 0, 0, 5};
  median_filter(two_rows, 2, 4, 7);
  EXPECT_EQ(two_rows, (std::vector<float>{2, 3, 2, 3, 0, 0, 0, 0}));
}

TEST(MedianFilter, ShortRowsPassThrough) {
  std::vector<float> row = {3, 1, 2};
  median_filter(row, 1, 3, 7);
  EXPECT_EQ(row, (std::vector<float>{3, 1, 2}));
  EXPECT_THROW(median_filter(row, 1, 3, 4), Error);
}

}  // namespace
}  // namespace voiceman::decoding
