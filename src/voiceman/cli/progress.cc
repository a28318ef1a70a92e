#include "voiceman/cli/progress.h"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace voiceman::cli {

std::string format_duration(double seconds) {
  const auto total = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", total / 60, total % 60);
  return buf;
}

ConsoleProgress::ConsoleProgress(bool draw_bar) : draw_bar_(draw_bar) {}

ConsoleProgress::~ConsoleProgress() {
  std::lock_guard lock(mutex_);
  clear();
}

void ConsoleProgress::on_plan(const pipeline::RunPlan& plan) {
  std::lock_guard lock(mutex_);
  total_ = plan.inputs;
  total_bytes_ = plan.total_bytes;
  started_ = std::chrono::steady_clock::now();
  draw();
}

void ConsoleProgress::on_input_done(const pipeline::InputEvent& event) {
  std::lock_guard lock(mutex_);
  done_ = event.completed;
  if (event.resumed) bytes_resumed_ += event.bytes_done - bytes_done_;
  bytes_done_ = event.bytes_done;
  if (!event.resumed) audio_s_ += event.record.audio_s;
  draw();
}

void ConsoleProgress::log_line(log::Level level, std::string_view message) {
  std::lock_guard lock(mutex_);
  clear();
  std::cerr << "voiceman: "
            << (level >= log::Level::warn ? std::string(log::level_name(level)) + ": " : "")
            << message << "\n";
  draw();
}

void ConsoleProgress::clear() {
  if (!bar_visible_) return;
  std::cerr << "\r\033[2K" << std::flush;
  bar_visible_ = false;
}

void ConsoleProgress::draw() {
  if (!draw_bar_ || total_ == 0) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? kWidth * done_ / total_ : 0;
  std::string bar(1, '[');
  bar.append(static_cast<size_t>(filled), '#').append(static_cast<size_t>(kWidth - filled), '-');
  bar += ']';
  char line[256];
  const double speed = elapsed > 0 ? audio_s_ / elapsed : 0;
  const uint64_t worked = bytes_done_ - bytes_resumed_;
  std::string eta = "--:--";
  if (worked > 0 && bytes_done_ < total_bytes_)
    eta = format_duration(static_cast<double>(total_bytes_ - bytes_done_) * elapsed /
                          static_cast<double>(worked));
  const auto audio = static_cast<long long>(audio_s_);
  std::snprintf(line, sizeof line,
                "%s %d/%d files  %lld:%02lld:%02lld h audio  %.1fx realtime  ETA %s", bar.c_str(),
                done_, total_, audio / 3600, audio / 60 % 60, audio % 60, speed, eta.c_str());
  std::cerr << "\r\033[2K" << line << std::flush;
  bar_visible_ = true;
}

}  // namespace voiceman::cli
