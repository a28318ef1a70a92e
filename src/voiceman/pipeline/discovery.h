#pragma once
// Finding the recordings: files and folders searched recursively in a deterministic
// order, with hidden and non-media files skipped and counted, symlinks that leave the
// input roots left alone, and symlink loops detected instead of followed.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "voiceman/manifest/records.h"

namespace voiceman::pipeline {

struct DiscoveredInput {
  std::string path;                 // absolute path (through symlinks, as the user sees it)
  std::filesystem::path canonical;  // the file itself; originals are protected by this
  std::string root;                 // absolute input root folder (a file input's parent)
  std::string relative_path;        // '/'-separated path under root; the outputs mirror it
  uint64_t size = 0;
};

// Something that looks like a recording but cannot be read at all (a symlink loop, a
// dangling link, a FIFO...). It becomes a failed input without any processing.
struct DiscoveryFailure {
  std::string path;
  std::string root;
  std::string relative_path;
  std::string error;  // names the file and the reason
};

struct Discovery {
  std::vector<DiscoveredInput> inputs;  // in processing order
  std::vector<DiscoveryFailure> failures;
  std::vector<manifest::SkippedPath> skipped;
  std::vector<std::filesystem::path> root_dirs;  // canonical input folders
  std::set<std::filesystem::path> originals;     // canonical paths of every input
  uint64_t total_bytes = 0;
};

// Extensions of the media voiceman reads (audio, and the audio track of video).
bool is_media_file_name(std::string_view name);

// Throws ConfigError for an INPUT that does not exist, or two inputs whose outputs would
// collide (same relative path under different roots).
Discovery discover(const std::vector<std::string>& inputs, bool follow_symlinks);

// Refuses (ConfigError) an OUT inside an input root, an input root inside OUT, or an
// input file inside OUT.
void check_out_dir(const std::filesystem::path& out_dir, const Discovery& discovery);

// Throws IntegrityError if writing `output` would land inside an input root or on an
// original (for instance through a symlink planted in OUT).
void check_output_path(const std::filesystem::path& output, const Discovery& discovery);

}  // namespace voiceman::pipeline
