#include "voiceman/writers/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "voiceman/core/errors.h"

namespace voiceman::writers {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what, int err) {
  throw IoError(file.string() + ": cannot write metrics (" + what + ": " + std::strerror(err) +
                ")");
}

}  // namespace

MetricsLog::MetricsLog(std::filesystem::path file, bool append) : file_(std::move(file)) {
  if (file_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    if (ec) fail(file_, "create folder", ec.value());
  }
  const int mode = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  fd_ = ::open(file_.c_str(), mode, 0644);
  if (fd_ < 0) fail(file_, "open", errno);
  if (!append) return;
  std::ifstream in(file_, std::ios::binary);
  const std::string existing((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  const size_t end = existing.rfind('\n');
  const size_t keep = end == std::string::npos ? 0 : end + 1;
  lines_kept_ = std::count(existing.begin(), existing.begin() + static_cast<ptrdiff_t>(keep), '\n');
  // A line cut short by a crash would run into the next one written.
  if (keep < existing.size() && ::ftruncate(fd_, static_cast<off_t>(keep)) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    fail(file_, "truncate a cut-short line", err);
  }
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::write(const nlohmann::ordered_json& line) {
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(mutex_);
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(file_, "write", errno);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd_) != 0 && errno != EINVAL) fail(file_, "fsync", errno);
}

}  // namespace voiceman::writers
