#pragma once
// Crash-safe file replacement: a reader (or a resumed run after kill -9) sees either the
// old file or the complete new one, never a truncated mix.
#include <filesystem>
#include <string_view>
#include <vector>

namespace voiceman::writers {

// Writes `content` to a temporary file beside `path`, fsyncs it, renames it over `path`
// and fsyncs the folder. Creates missing parent folders. On failure the temporary file is
// removed and IoError (transient) names `path` and the reason.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Files replaced as a set (one recording's transcripts): stage() writes each to a
// temporary file beside its target, commit() renames them all into place. A failure
// before commit() leaves every target as it was, so a failed re-run keeps the earlier set
// whole. Temporary files not committed are removed on destruction.
class StagedFiles {
 public:
  StagedFiles() = default;
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  ~StagedFiles();

  // Errors as write_file_atomic's.
  void stage(const std::filesystem::path& path, std::string_view content);
  // Renames the staged files into place, in the order staged. On failure (IoError) the
  // ones already in place are those committed() lists.
  void commit();
  const std::vector<std::filesystem::path>& committed() const { return committed_; }

 private:
  struct Staged {
    std::filesystem::path temporary, target;
  };
  std::vector<Staged> staged_;  // not yet renamed
  std::vector<std::filesystem::path> committed_;
};

// Removes a file this program wrote (an output of a failed attempt); missing is fine.
// Returns whether a file was removed.
bool remove_output(const std::filesystem::path& path) noexcept;

// Whether `name` is one of the temporary names write_file_atomic uses.
bool is_temp_file_name(std::string_view name);

// Removes temporary files that a killed process left under `dir` (recursively, without
// following symlinks). Returns how many were removed.
int remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace voiceman::writers
