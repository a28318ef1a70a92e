// The GPU parity tests' error measure (support/parity_error.h), on the CPU: a result of
// NaNs or infinities must fail them, whatever the reference's scale.
#include "support/parity_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace voiceman::testing {
namespace {

TEST(ParityError, NansAndInfinitiesWhereTheReferenceHasNoneAreInfinitelyFar) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> want = {1.f, -2.f, 4.f, 0.f};
  for (const std::vector<float>& got :
       {std::vector<float>{nan, -2.f, 4.f, 0.f}, std::vector<float>{1.f, -2.f, 4.f, nan},
        std::vector<float>{nan, nan, nan, nan}, std::vector<float>{1.f, -inf, 4.f, 0.f}}) {
    EXPECT_EQ(max_abs_difference(got.data(), want.data(), 4), inf);
    EXPECT_EQ(relative_error(got.data(), want.data(), 4), inf);
  }
  // The same NaN or infinity on both sides is no difference; finite ones are measured.
  const std::vector<float> odd = {nan, inf, -inf, 2.f}, close = {nan, inf, -inf, 2.5f};
  EXPECT_EQ(max_abs_difference(close.data(), odd.data(), 4), 0.5);
  EXPECT_EQ(relative_error(close.data(), odd.data(), 4), 0.25) << "over the finite scale";
  EXPECT_EQ(max_abs_difference(odd.data(), want.data(), 4), inf);
  const std::vector<float> near = {1.f, -2.f, 4.5f, 0.f};
  EXPECT_EQ(relative_error(near.data(), want.data(), 4), 0.125);
}

}  // namespace
}  // namespace voiceman::testing
