#pragma once
// Where tests find the shared dev data, the fetched models and scratch space.
#include <filesystem>
#include <string>

namespace voiceman::testing {

// ../shared/data beside the source tree (VOICEMAN_SHARED_DATA overrides).
std::filesystem::path shared_data_dir();
// models/<name> in the source tree (VOICEMAN_MODELS_DIR overrides the models/ folder).
std::filesystem::path model_dir(const std::string& name = "tiny.en");
// A fresh empty folder under the build tree, unique per test.
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace voiceman::testing
