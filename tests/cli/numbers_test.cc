// Number lists on the command line: --temperature (run and transcribe), --retry-backoff.
#include "voiceman/cli/numbers.h"

#include <gtest/gtest.h>

#include "voiceman/core/errors.h"

namespace voiceman::cli {
namespace {

TEST(NumberLists, WholeFiniteNumbersAreRead) {
  EXPECT_EQ(parse_numbers("5,15,30", "--retry-backoff"), (std::vector<double>{5, 15, 30}));
  EXPECT_EQ(parse_numbers("0.5", "--retry-backoff"), (std::vector<double>{0.5}));
  EXPECT_EQ(parse_floats("0,0.2,1", "--temperature"), (std::vector<float>{0.f, 0.2f, 1.f}));
}

TEST(NumberLists, TrailingGarbageNonFiniteAndEmptyItemsAreRefused) {
  for (const char* bad : {"0.2abc,1x", "0.2abc", "1x", "5,15,", ",5", "5,,15", "", ",", "nan",
                          "0,NaN", "inf", "-inf,1", "infinity", "1e999", "5 ,15", "soon"}) {
    EXPECT_THROW(parse_numbers(bad, "--retry-backoff"), ConfigError) << bad;
    EXPECT_THROW(parse_floats(bad, "--temperature"), ConfigError) << bad;
  }
  try {
    parse_numbers("5,15,", "--retry-backoff");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--retry-backoff"), std::string::npos) << e.what();
  }
}

// A double beyond a float's range would become inf (or be undefined) as a temperature.
TEST(NumberLists, FloatsRefuseWhatAFloatCannotHold) {
  EXPECT_EQ(parse_numbers("1e300", "--temperature"), (std::vector<double>{1e300}));
  EXPECT_THROW(parse_floats("0,1e300", "--temperature"), ConfigError);
}

}  // namespace
}  // namespace voiceman::cli
