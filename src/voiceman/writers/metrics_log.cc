#include "voiceman/writers/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
