#pragma once
// Crash-safe file replacement: a reader (or a resumed run after kill -9) sees either the
// old file or the complete new one, never a truncated mix.
#include <filesystem>
#include <string_view>

namespace voiceman::writers {

// Writes `content` to a temporary file beside `path`, fsyncs it, renames it over `path`
// and fsyncs the folder. Creates missing parent folders. On failure the temporary file is
// removed and IoError (transient) names `path` and the reason.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Removes a file this program wrote (an output of a failed attempt); missing is fine.
// Returns whether a file was removed.
bool remove_output(const std::filesystem::path& path) noexcept;

// Whether `name` is one of the temporary names write_file_atomic uses.
bool is_temp_file_name(std::string_view name);

// Removes temporary files that a killed process left under `dir` (recursively, without
// following symlinks). Returns how many were removed.
int remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace voiceman::writers
