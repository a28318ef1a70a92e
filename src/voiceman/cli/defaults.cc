#include "voiceman/cli/defaults.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace voiceman::cli {

std::filesystem::path default_model_dir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("VOICEMAN_MODELS_DIR"))
    candidates.push_back(fs::path(env) / kDefaultModelName);
  candidates.push_back(fs::path("models") / kDefaultModelName);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../../models" / kDefaultModelName);
    candidates.push_back(exe.parent_path() / "../share/voiceman/models" / kDefaultModelName);
  }
  for (const auto& dir : candidates)
    if (fs::exists(dir / "model.bin", ec)) return dir.lexically_normal();
  return fs::path("models") / kDefaultModelName;
}

}  // namespace voiceman::cli
