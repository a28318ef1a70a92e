#include "voiceman/asr/engine_pool.h"

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/runtime.h"
#endif

namespace voiceman::asr {

struct EnginePool::Slot {
#ifdef VOICEMAN_CUDA
  std::unique_ptr<cuda::Stream> stream;  // outlives the engine that queues work on it
#endif
  std::unique_ptr<ChunkTranscriber> engine;
  int index = 0;
  // The job, guarded by the pool's mutex.
  bool has_job = false;
  bool stop = false;
  uint64_t tag = 0;
  std::vector<OwnedChunk> chunks;
  TranscribeOptions options;
  std::condition_variable cv;
  std::thread thread;
};

EnginePool::EnginePool() = default;

EnginePool::~EnginePool() {
  {
    std::lock_guard lock(mutex_);
    for (auto& s : engines_) s->stop = true;
  }
  for (auto& s : engines_) {
    s->cv.notify_all();
    if (s->thread.joinable()) s->thread.join();
  }
}

int EnginePool::add(std::shared_ptr<const models::WhisperModel> model,
                    const tokenizer::Tokenizer& tokenizer, ExecContext ctx) {
  auto slot = std::make_unique<Slot>();
  slot->index = size();
  ctx.stream = nullptr;
#ifdef VOICEMAN_CUDA
  if (!ctx.device.is_cpu()) {
    slot->stream = std::make_unique<cuda::Stream>(ctx.device);
    ctx.stream = slot->stream->get();
  }
#endif
  slot->engine = std::make_unique<ChunkTranscriber>(std::move(model), tokenizer, ctx);
  Slot& s = *slot;
  {
    std::lock_guard lock(mutex_);
    engines_.push_back(std::move(slot));
  }
  s.thread = std::thread([this, &s] { work(s); });
  return s.index;
}

const ChunkTranscriber& EnginePool::engine(int index) const {
  return *engines_.at(static_cast<size_t>(index))->engine;
}

bool EnginePool::busy(int index) const {
  std::lock_guard lock(mutex_);
  return engines_.at(static_cast<size_t>(index))->has_job;
}

void EnginePool::submit(int index, uint64_t tag, std::vector<OwnedChunk> chunks,
                        const TranscribeOptions& options) {
  Slot& s = *engines_.at(static_cast<size_t>(index));
  {
    std::lock_guard lock(mutex_);
    if (s.has_job) throw Error("engine " + std::to_string(index) + " is busy");
    s.has_job = true;
    s.tag = tag;
    s.chunks = std::move(chunks);
    s.options = options;
    ++running_;
  }
  s.cv.notify_all();
}

EngineResult EnginePool::wait() {
  std::unique_lock lock(mutex_);
  if (done_.empty() && running_ == 0) throw Error("EnginePool::wait: no batch is running");
  done_cv_.wait(lock, [this] { return !done_.empty(); });
  EngineResult r = std::move(done_.front());
  done_.pop_front();
  return r;
}

void EnginePool::work(Slot& s) {
  for (;;) {
    std::vector<OwnedChunk> chunks;
    TranscribeOptions options;
    uint64_t tag = 0;
    {
      std::unique_lock lock(mutex_);
      s.cv.wait(lock, [&s] { return s.stop || s.has_job; });
      if (s.stop) return;
      chunks = std::move(s.chunks);
      options = s.options;
      tag = s.tag;
    }
    EngineResult r;
    r.engine = s.index;
    r.tag = tag;
    r.started = std::chrono::steady_clock::now();
    try {
      std::vector<ChunkInput> inputs;
      inputs.reserve(chunks.size());
      for (const OwnedChunk& c : chunks) {
        inputs.push_back(ChunkInput{c.audio, c.offset, c.first, c.language, {}});
        for (const std::vector<float>& a : c.language_audio)
          inputs.back().language_audio.emplace_back(a);
      }
      r.outputs = s.engine->transcribe(inputs, options);
    } catch (...) {
      r.error = std::current_exception();
    }
    r.finished = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex_);
      s.has_job = false;
      --running_;
      done_.push_back(std::move(r));
    }
    done_cv_.notify_all();
  }
}

}  // namespace voiceman::asr
