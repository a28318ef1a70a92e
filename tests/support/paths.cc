#include "support/paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace voiceman::testing {

std::filesystem::path shared_data_dir() {
  if (const char* env = std::getenv("VOICEMAN_SHARED_DATA")) return env;
  return std::filesystem::path(VOICEMAN_SOURCE_DIR) / ".." / "shared" / "data";
}

std::filesystem::path model_dir(const std::string& name) {
  if (const char* env = std::getenv("VOICEMAN_MODELS_DIR"))
    return std::filesystem::path(env) / name;
  return std::filesystem::path(VOICEMAN_SOURCE_DIR) / "models" / name;
}

std::filesystem::path scratch_dir(const std::string& name) {
  // Per test as well as per name: ctest -j runs tests of one binary side by side.
  auto dir = std::filesystem::path(VOICEMAN_BINARY_DIR) / "test-scratch" / name;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
    dir /= std::string(info->test_suite_name()) + "." + info->name();
  else  // suite-level set-up: one per process
    dir /= "pid-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace voiceman::testing
