#pragma once
// `voiceman verify OUT`: re-hashes the originals and the outputs a manifest lists and
// reports every difference. Reading only: nothing is written.
#include <filesystem>
#include <string>
#include <vector>

namespace voiceman::manifest {

struct Difference {
  std::string kind;    // changed, missing, unexpected, incomplete
  std::string path;    // the original or output concerned
  std::string detail;  // what differs, e.g. "sha256 was ab12..., now 9f3c..."
};

struct VerifyReport {
  int originals_checked = 0;
  int outputs_checked = 0;
  std::vector<Difference> differences;
  bool ok() const { return differences.empty(); }
};

// Throws IntegrityError if OUT has no readable manifest of a known schema.
VerifyReport verify(const std::filesystem::path& out_dir);

}  // namespace voiceman::manifest
