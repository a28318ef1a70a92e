#pragma once
// Replays of the decoder's step as CUDA graphs. A graph is keyed by every address the
// step writes or reads besides the weights (the caller's buffers, its row count), so it is
// replayed only while those buffers are where they were when it was recorded.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "voiceman/core/device.h"

namespace voiceman::cuda {
class Graph;
}

namespace voiceman::models {

class StepGraphs {
 public:
  using Key = std::vector<uintptr_t>;  // addresses and sizes
  using Body = std::function<void(const ExecContext&)>;

  // Graphs are used when ctx asks for them on a CUDA device with an owned stream, and
  // `failed` (shared by the decoders of one model) does not say that a recording already
  // failed; otherwise run() always calls the body directly.
  StepGraphs(const ExecContext& ctx, std::atomic<bool>& failed);
  ~StepGraphs();
  StepGraphs(const StepGraphs&) = delete;
  StepGraphs& operator=(const StepGraphs&) = delete;

  // Runs body on ctx. The first time a key is seen the body runs directly; the second
  // time it is recorded, and from then on replayed. When a recording fails the step
  // keeps running directly, `failed` is set so that later decoders do not try again,
  // and the failure is logged once for all of them.
  void run(const ExecContext& ctx, const Key& key, const Body& body);

  bool enabled() const { return enabled_; }
  int64_t recorded() const { return recorded_; }
  int64_t replays() const { return replays_; }

 private:
  struct Entry {
    int seen = 0;
    // shared_ptr: its deleter is made where Graph is complete (CUDA builds only).
    std::shared_ptr<cuda::Graph> graph;
  };
  // Graphs hold their temporaries; a decoder needs only a few shapes at a time.
  static constexpr size_t kMaxGraphs = 8;

  bool enabled_ = false;
  std::atomic<bool>& failed_;
  std::map<Key, Entry> entries_;
  int64_t recorded_ = 0, replays_ = 0;
};

}  // namespace voiceman::models
