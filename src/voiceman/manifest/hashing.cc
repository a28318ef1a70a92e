#include "voiceman/manifest/hashing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "voiceman/core/errors.h"

namespace voiceman::manifest {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using DigestCtx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

DigestCtx start_digest(const EVP_MD* md) {
  DigestCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    throw Error("OpenSSL could not start a digest");
  return ctx;
}

std::string finish_hex(EVP_MD_CTX* ctx) {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, raw, &len) != 1) throw Error("OpenSSL could not finish a digest");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[raw[i] >> 4];
    hex[2 * i + 1] = kHex[raw[i] & 15];
  }
  return hex;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// O_NONBLOCK so that a FIFO named like a recording cannot hang the run at open();
// O_NOATIME (owner or CAP_FOWNER only) so hashing does not even touch the access time.
int open_readonly(const std::filesystem::path& path) {
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  int fd = ::open(path.c_str(), flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), flags);
  return fd;
}

std::string unreadable(const std::filesystem::path& path, const std::string& why) {
  return path.string() + ": unreadable (" + why + ")";
}

}  // namespace

FileDigest hash_file(const std::filesystem::path& path) {
  Fd fd(open_readonly(path));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ELOOP) throw MediaError(unreadable(path, "symlink loop"));
    // Missing, forbidden or not a file: trying again will not help. Anything else (EIO,
    // out of descriptors, a stale network handle) may pass.
    if (err == ENOENT || err == EACCES || err == EPERM || err == ENOTDIR || err == EISDIR ||
        err == ENAMETOOLONG || err == ENXIO || err == ENODEV)
      throw MediaError(unreadable(path, std::strerror(err)));
    throw IoError(path.string() + ": cannot open (" + std::strerror(err) + ")");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw IoError(path.string() + ": stat failed (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw MediaError(unreadable(path, "not a regular file"));
  // Regular files never block; clear the flag anyway so reads behave normally.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

  DigestCtx md5 = start_digest(EVP_md5());
  DigestCtx sha = start_digest(EVP_sha256());
  std::vector<unsigned char> buffer(1 << 20);
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path.string() + ": read failed after " + std::to_string(total) + " bytes (" +
                    std::strerror(errno) + ")");
    }
    if (n == 0) break;
    EVP_DigestUpdate(md5.get(), buffer.data(), static_cast<size_t>(n));
    EVP_DigestUpdate(sha.get(), buffer.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  // A file that grows, shrinks or is rewritten while we read it has no single digest.
  struct stat end {};
  if (::fstat(fd.get(), &end) == 0 &&
      (end.st_size != static_cast<off_t>(total) || end.st_mtim.tv_sec != st.st_mtim.tv_sec ||
       end.st_mtim.tv_nsec != st.st_mtim.tv_nsec))
    throw IntegrityError(path.string() + ": changed while it was being hashed");
  FileDigest d;
  d.size = total;
  d.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  d.md5 = finish_hex(md5.get());
  d.sha256 = finish_hex(sha.get());
  return d;
}

std::string sha256_hex(std::string_view bytes) {
  DigestCtx sha = start_digest(EVP_sha256());
  EVP_DigestUpdate(sha.get(), bytes.data(), bytes.size());
  return finish_hex(sha.get());
}

std::string format_mtime(int64_t mtime_ns) {
  const time_t secs = static_cast<time_t>(mtime_ns / 1000000000);
  const long nanos = static_cast<long>(mtime_ns % 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
  return buf;
}

}  // namespace voiceman::manifest
