#pragma once
// `voiceman verify OUT [OUT...]`: re-hashes the originals and the outputs a manifest lists
// and reports every difference. Reading only: nothing is written.
#include <filesystem>
#include <string>
#include <vector>

namespace voiceman::manifest {

struct Difference {
  std::string kind;    // changed, missing, unexpected, incomplete, mismatch, violated
  std::string path;    // the original or output concerned
  std::string detail;  // what differs, e.g. "sha256 was ab12..., now 9f3c..."
};

struct VerifyReport {
  int originals_checked = 0;
  int outputs_checked = 0;
  // Inputs another worker of a shared job processed (--redis/--job): found with the same
  // outcome in that worker's OUT, or not checked because its OUT was not given.
  int delegated_checked = 0;
  int delegated_unchecked = 0;
  std::vector<Difference> differences;
  bool ok() const { return differences.empty(); }
};

// Throws IntegrityError if OUT has no readable manifest of a known schema.
VerifyReport verify(const std::filesystem::path& out_dir);

// Every OUT on its own, and then the workers of a shared job against each other: an input
// one OUT lists as delegated to another given OUT must be there with the outcome it was
// delegated with. The OUTs must belong to one job.
VerifyReport verify(const std::vector<std::filesystem::path>& out_dirs);

}  // namespace voiceman::manifest
