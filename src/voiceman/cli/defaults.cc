#include "voiceman/cli/defaults.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace voiceman::cli {

namespace {

namespace fs = std::filesystem;

// models/NAME under $VOICEMAN_MODELS_DIR, the working folder, or next to the binary;
// the first where `probe` (a file inside, or NAME itself when empty) exists.
fs::path find_model(const std::string& name, const std::string& probe) {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("VOICEMAN_MODELS_DIR"))
    candidates.push_back(fs::path(env) / name);
  candidates.push_back(fs::path("models") / name);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../../models" / name);
    candidates.push_back(exe.parent_path() / "../share/voiceman/models" / name);
  }
  for (const auto& path : candidates)
    if (fs::exists(probe.empty() ? path : path / probe, ec)) return path.lexically_normal();
  return fs::path("models") / name;
}

}  // namespace

std::filesystem::path default_model_dir() { return find_model(kDefaultModelName, "model.bin"); }

std::filesystem::path default_vad_model() { return find_model(kDefaultVadModelName, ""); }

std::filesystem::path default_segmentation_model() {
  return find_model("diarization/segmentation-whisperx.bin", "");
}

std::filesystem::path default_speaker_model() {
  return find_model("diarization/resemblyzer.pt", "");
}

}  // namespace voiceman::cli
