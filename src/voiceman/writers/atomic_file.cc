#include "voiceman/writers/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "voiceman/core/errors.h"

namespace voiceman::writers {
namespace {

namespace fs = std::filesystem;

// Hidden and clearly ours, so a later run can sweep what a killed one left behind.
constexpr std::string_view kTempMarker = ".voiceman-tmp-";

// Enough of the output's name to tell whose a leftover temporary file was, short enough
// that the marker and mkstemp's suffix keep it within a file system's 255 bytes.
constexpr size_t kTempNameBytes = 96;

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  const std::string message =
      path.string() + ": cannot write (" + what + ": " + std::strerror(err) + ")";
  // Retrying cannot shorten a name: a plain Error, which the retry policy does not repeat.
  if (err == ENAMETOOLONG) throw Error(message);
  throw IoError(message);
}

// The first `bytes` bytes of a UTF-8 name or fewer, not splitting a character.
std::string utf8_prefix(const std::string& name, size_t bytes) {
  if (name.size() <= bytes) return name;
  while (bytes > 0 && (static_cast<unsigned char>(name[bytes]) & 0xC0) == 0x80) --bytes;
  return name.substr(0, bytes);
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "open folder", errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems (tmpfs in containers) refuse fsync on folders; the data is safe.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) fail(dir, "fsync folder", err);
}

// The staged half of an atomic write: `content` in a new temporary file beside `path`,
// written and fsynced. Returns the temporary file's path.
fs::path write_temporary(const fs::path& path, std::string_view content) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(path, "create folder " + dir.string(), ec.value());

  std::string name = ".";
  name += utf8_prefix(path.filename().string(), kTempNameBytes);
  name += kTempMarker;
  name += "XXXXXX";  // mkstemp fills these in
  std::string tmpl = (dir / name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail(path, "create temporary file", errno);
  const fs::path tmp = tmpl;
  auto abandon = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, what, err);
  };
  // mkstemp creates 0600; outputs are ordinary shareable files.
  if (::fchmod(fd, 0644) != 0) abandon("chmod", errno);
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("write", errno);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("fsync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "close", err);
  }
  return tmp;
}

void rename_into_place(const fs::path& tmp, const fs::path& path) {
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "rename", err);
  }
  fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view content) {
  rename_into_place(write_temporary(path, content), path);
}

StagedFiles::~StagedFiles() {
  for (const Staged& s : staged_) ::unlink(s.temporary.c_str());
}

void StagedFiles::stage(const fs::path& path, std::string_view content) {
  staged_.push_back({write_temporary(path, content), path});
}

void StagedFiles::commit() {
  while (!staged_.empty()) {
    const Staged s = staged_.front();
    staged_.erase(staged_.begin());
    rename_into_place(s.temporary, s.target);
    committed_.push_back(s.target);
  }
}

bool remove_output(const fs::path& path) noexcept {
  std::error_code ec;
  return fs::remove(path, ec);
}

bool is_temp_file_name(std::string_view name) {
  const size_t at = name.find(kTempMarker);
  return !name.empty() && name.front() == '.' && at != std::string_view::npos &&
         name.size() == at + kTempMarker.size() + 6;
}

int remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return 0;
  int removed = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec) &&
        is_temp_file_name(it->path().filename().string())) {
      if (fs::remove(it->path(), ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace voiceman::writers
