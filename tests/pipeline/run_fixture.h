#pragma once
// Shared set-up for the end-to-end pipeline tests: the real tiny.en engine on short real
// clips, greedy decoding and two threads to stay inside CI's budget.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/log.h"
#include "voiceman/manifest/manifest.h"
#include "voiceman/pipeline/run.h"

namespace voiceman::pipeline::test {

namespace fs = std::filesystem;

// Collects log lines while alive.
class LogCapture {
 public:
  LogCapture() {
    previous_ = log::set_sink(
        [this](log::Level, std::string_view m) {
          std::lock_guard lock(mutex_);
          lines_.emplace_back(m);
        },
        log::Level::info);
  }
  ~LogCapture() { log::set_sink(std::move(previous_)); }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool contains(const std::string& text) {
    for (const std::string& l : lines())
      if (l.find(text) != std::string::npos) return true;
    return false;
  }

 private:
  log::Sink previous_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// An observer whose hooks the tests fill in.
struct Hooks : RunObserver {
  std::function<void(const std::vector<std::string>&)> transcribe_start;
  std::function<void(const InputEvent&)> input_done;
  void on_transcribe_start(const std::vector<std::string>& names) override {
    if (transcribe_start) transcribe_start(names);
  }
  void on_input_done(const InputEvent& e) override {
    if (input_done) input_done(e);
  }
};

inline bool engine_available() {
  return fs::exists(voiceman::testing::model_dir("tiny.en") / "model.bin") &&
         fs::exists(voiceman::testing::model_dir("silero_vad_v6.onnx")) &&
         voiceman::testing::have_ffmpeg_cli();
}

inline RunOptions fast_options(std::vector<std::string> inputs, const fs::path& out) {
  RunOptions o;
  o.inputs = std::move(inputs);
  o.out_dir = out.string();
  o.model_dir = voiceman::testing::model_dir("tiny.en").string();
  o.vad_model = voiceman::testing::model_dir("silero_vad_v6.onnx").string();
  o.device = "cpu";
  o.threads = 2;
  o.transcribe.beam_size = 1;
  o.retry_backoff_s = {0.2, 0.4, 0.8};
  return o;
}

inline RunReport run_quietly(const RunOptions& o, RunObserver* observer = nullptr) {
  static RunObserver none;
  std::atomic<bool> stop{false};
  return run(o, observer ? *observer : none, stop);
}

inline const manifest::InputRecord* find_input(const manifest::Manifest& m,
                                               const std::string& relative_path) {
  for (const auto& r : m.inputs)
    if (r.relative_path == relative_path) return &r;
  return nullptr;
}

}  // namespace voiceman::pipeline::test
