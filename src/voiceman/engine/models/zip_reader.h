#pragma once
// Read-only ZIP archive reader for PyTorch checkpoints: the whole archive is in memory,
// members are stored or deflated (zlib), ZIP64 sizes and offsets are understood, and
// each member's CRC-32 is checked when it is extracted.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace voiceman::models {

class ZipReader {
 public:
  // Parses the central directory of `bytes` (the archive's content). `origin` names the
  // file in error messages. Throws ModelError on a malformed or truncated archive.
  ZipReader(std::vector<uint8_t> bytes, std::filesystem::path origin);

  // True when the bytes start like a ZIP archive (local file header signature).
  static bool looks_like_zip(const std::vector<uint8_t>& bytes);

  const std::vector<std::string>& names() const { return names_; }
  bool has(const std::string& name) const;
  // The member's uncompressed content; ModelError when absent, corrupt or truncated.
  std::vector<uint8_t> read(const std::string& name) const;

 private:
  struct Entry {
    std::string name;
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0;
    uint64_t size = 0;
    uint64_t local_offset = 0;
  };
  const Entry& entry(const std::string& name) const;
  [[noreturn]] void fail(const std::string& what) const;

  std::vector<uint8_t> bytes_;
  std::filesystem::path origin_;
  std::vector<Entry> entries_;
  std::vector<std::string> names_;
};

}  // namespace voiceman::models
