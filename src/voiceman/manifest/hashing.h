#pragma once
// Chain-of-custody hashing: MD5 and SHA-256 of a file in one streaming read, with the
// size and modification time seen by that same open file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace voiceman::manifest {

struct FileDigest {
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // st_mtim, nanoseconds since the Unix epoch
  std::string md5;       // lowercase hex
  std::string sha256;    // lowercase hex

  // Same bytes and same timestamps: what "the original is untouched" means.
  bool operator==(const FileDigest&) const = default;
};

// Reads `path` read-only (O_NOATIME where permitted) in 1 MiB chunks. A path that cannot
// be opened, or is not a regular file, throws MediaError "...: unreadable (reason)"
// (permanent); a failing read throws IoError (transient).
FileDigest hash_file(const std::filesystem::path& path);

std::string sha256_hex(std::string_view bytes);

// "2024-05-01T12:34:56.123456789Z" for an mtime; UTC.
std::string format_mtime(int64_t mtime_ns);

}  // namespace voiceman::manifest
