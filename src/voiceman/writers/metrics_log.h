#pragma once
// OUT/metrics.jsonl: one JSON object per line, appended as the run goes. Each line is
// flushed and fsync'd, so after a crash the file holds every line written before it (at
// worst the last one is cut short; metrics::read_metrics_jsonl skips that one).
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

namespace voiceman::writers {

class MetricsLog {
 public:
  // Opens (creating parent folders) `file`; append keeps existing lines (a resumed run)
  // but drops a last line a crash cut short, otherwise the file is truncated. Throws
  // IoError naming the file.
  MetricsLog(std::filesystem::path file, bool append);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Writes `line` compactly plus '\n' in one write, then fsyncs. Thread-safe. Invalid
  // UTF-8 in strings is replaced by U+FFFD. Throws IoError naming the file.
  void write(const nlohmann::ordered_json& line);

  const std::filesystem::path& path() const { return file_; }
  // Complete lines the file held when it was opened (0 unless appending).
  int64_t lines_kept() const { return lines_kept_; }

 private:
  std::filesystem::path file_;
  std::mutex mutex_;
  int fd_ = -1;
  int64_t lines_kept_ = 0;
};

}  // namespace voiceman::writers
