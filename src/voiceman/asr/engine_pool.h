#pragma once
// Several chunk engines working at once, each on its own thread (and on a GPU its own
// stream): one per GPU for `--device cuda:all`, and two or more on one device so that
// one batch's encoder runs while another batch decodes. The caller decides which batch
// goes to which engine; the pool only runs them and hands back results in the order
// they finish. Jobs own their audio: the caller may drop a recording while its other
// chunks are still in an engine.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "voiceman/asr/chunk_transcriber.h"

namespace voiceman::asr {

// A chunk whose audio belongs to the job (ChunkInput only points at audio).
struct OwnedChunk {
  std::vector<float> audio;
  double offset = 0;
  bool first = false;
  std::optional<std::string> language;
  std::vector<std::vector<float>> language_audio;  // see ChunkInput
};

struct EngineResult {
  int engine = 0;
  uint64_t tag = 0;  // the caller's job tag, returned as given
  std::vector<ChunkOutput> outputs;
  std::exception_ptr error;  // set instead of outputs when the batch failed
  std::chrono::steady_clock::time_point started, finished;
  double wall_s() const { return std::chrono::duration<double>(finished - started).count(); }
};

class EnginePool {
 public:
  EnginePool();
  ~EnginePool();
  EnginePool(const EnginePool&) = delete;
  EnginePool& operator=(const EnginePool&) = delete;

  // Adds an engine for `model` on ctx.device and starts its thread. On a CUDA device
  // the engine gets a stream of its own (ctx.stream is ignored). Returns its index.
  int add(std::shared_ptr<const models::WhisperModel> model, const tokenizer::Tokenizer& tokenizer,
          ExecContext ctx);

  int size() const { return static_cast<int>(engines_.size()); }
  const ChunkTranscriber& engine(int index) const;
  bool busy(int index) const;

  // Starts a batch on an idle engine. Throws Error when the engine is busy.
  void submit(int index, uint64_t tag, std::vector<OwnedChunk> chunks,
              const TranscribeOptions& options);

  // The next finished batch; waits when none has finished yet. Throws Error when no
  // batch is running or waiting to be collected.
  EngineResult wait();

 private:
  struct Slot;
  void work(Slot& slot);

  std::vector<std::unique_ptr<Slot>> engines_;
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  std::deque<EngineResult> done_;
  int running_ = 0;
};

}  // namespace voiceman::asr
