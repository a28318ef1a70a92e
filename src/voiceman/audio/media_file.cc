#include "voiceman/audio/media_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "voiceman/core/errors.h"

namespace voiceman::audio {

void throw_media_error(const std::filesystem::path& path, const std::string& reason) {
  throw MediaError("cannot decode '" + path.string() + "': " + reason);
}

uint64_t check_media_file(const std::filesystem::path& path) {
  // open() before fstat() so the answer describes exactly what a decoder would see.
  // O_RDONLY only: originals are evidence and must never be opened for writing.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string why = err == ENOENT   ? "no such file"
                      : err == EACCES ? "permission denied"
                                      : std::strerror(err);
    throw_media_error(path, "unreadable (" + why + ")");
  }
  struct stat info {};
  const int rc = ::fstat(fd, &info);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw_media_error(path, std::string("unreadable (") + std::strerror(err) + ")");
  if (S_ISDIR(info.st_mode)) throw_media_error(path, "unreadable (is a directory)");
  if (!S_ISREG(info.st_mode)) throw_media_error(path, "unreadable (not a regular file)");
  if (info.st_size == 0) throw_media_error(path, "zero bytes");
  return static_cast<uint64_t>(info.st_size);
}

}  // namespace voiceman::audio
