#pragma once
// What `voiceman run` shows while it works: on a terminal, a progress bar (files, audio
// hours, speed, ETA) kept under the log lines; otherwise nothing beyond the log lines.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "voiceman/core/log.h"
#include "voiceman/pipeline/events.h"

namespace voiceman::cli {

class ConsoleProgress : public pipeline::RunObserver {
 public:
  explicit ConsoleProgress(bool draw_bar);
  ~ConsoleProgress() override;

  void on_plan(const pipeline::RunPlan& plan) override;
  void on_input_done(const pipeline::InputEvent& event) override;

  // Prints one log line to stderr, keeping the bar below it.
  void log_line(log::Level level, std::string_view message);

 private:
  void draw();  // with mutex_ held
  void clear();

  const bool draw_bar_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  int total_ = 0;
  int done_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t bytes_done_ = 0;
  uint64_t bytes_resumed_ = 0;  // done by earlier runs: excluded from the speed estimate
  double audio_s_ = 0;
  bool bar_visible_ = false;
};

// "mm:ss", or "h:mm:ss" from an hour up.
std::string format_duration(double seconds);

}  // namespace voiceman::cli
