#include "support/paths.h"

#include <cstdlib>

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
  auto dir = std::filesystem::path(VOICEMAN_BINARY_DIR) / "test-scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace voiceman::testing
