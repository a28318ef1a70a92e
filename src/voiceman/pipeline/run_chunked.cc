// Batched mode of `voiceman run`: speech chunks of many recordings share engine batches.
//   prefetch workers: hash -> decode -> VAD -> chunks     (other cores, ahead of the engine)
//   ChunkQueue: chunks of any recordings, batched by length
//   engine: one batch at a time, with out-of-memory back-off and CPU fallback
//   reassembly: a recording's chunks in order -> word times -> original timeline -> writers
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/decoding/text_utils.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/features/window_features.h"
#include "voiceman/pipeline/prefetch.h"
#include "voiceman/pipeline/retry.h"
#include "voiceman/pipeline/run_impl.h"

namespace voiceman::pipeline::detail {
namespace {

constexpr double kSampleRate = 16000.0;

std::set<size_t> files_of(const std::vector<scheduler::ChunkRef>& batch) {
  std::set<size_t> files;
  for (const auto& r : batch) files.insert(r.file);
  return files;
}

// The first chunks of a recording whose language is to be detected, as far as
// faster-whisper's detection reads them.
std::vector<std::vector<float>> language_audio(const Prepared& p, int segments) {
  std::vector<int64_t> samples;
  for (const auto& a : p.chunk_audio) samples.push_back(static_cast<int64_t>(a.size()));
  const size_t n = features::language_window_chunks(samples, segments);
  return {p.chunk_audio.begin(), p.chunk_audio.begin() + static_cast<std::ptrdiff_t>(n)};
}

}  // namespace

void Run::detect_speech(Prepared& p) const {
  p.regions = vad_->detect(p.samples, options_.vad);
  const double max_s = options_.vad.max_speech_duration_s;
  if (options_.concatenate_speech) {
    for (const vad::SpeechChunk& chunk : vad::collect_chunks(p.regions, kSampleRate, max_s)) {
      std::vector<float> audio;
      for (const vad::SpeechRegion& r : chunk.regions)
        audio.insert(audio.end(), p.samples.begin() + r.start, p.samples.begin() + r.end);
      if (audio.empty()) continue;
      p.chunk_offsets.push_back(chunk.offset_s);
      p.chunk_audio.push_back(std::move(audio));
    }
  } else {
    for (const vad::SpeechChunk& chunk : vad::span_chunks(p.regions, kSampleRate, max_s)) {
      const auto begin = p.samples.begin() + chunk.offset_samples;
      if (chunk.duration_samples <= 0) continue;
      p.chunk_offsets.push_back(chunk.offset_s);
      p.chunk_audio.emplace_back(begin, begin + chunk.duration_samples);
    }
  }
  // Only the chunks are needed from here on.
  p.samples = {};
}

std::optional<size_t> Run::take_due_retry() {
  const auto now = Clock::now();
  for (auto it = retries_.begin(); it != retries_.end(); ++it) {
    if (it->due > now) continue;
    const size_t index = it->index;
    if (!it->takeover)
      log::info("Retrying ", records_[index].relative_path, " (attempt ", retries_used_[index], "/",
                policy_.max_retries, ")");
    retries_.erase(it);
    return index;
  }
  return std::nullopt;
}

void Run::admit(Prepared&& p) {
  if (p.error) {
    if (p.changed_to) records_[p.index].after = p.changed_to;
    fail(p.index, p.error, p.stage, p.before);
    return;
  }
  if (p.elsewhere) {
    defer(p.index, *p.elsewhere);
    return;
  }
  if (p.changed_since) {
    keep_broken_custody(p);
    return;
  }
  if (p.already_done) {
    records_[p.index] = setup_.previous.at(records_[p.index].path);
    ++resumed_;
    report_to_job(p.index);
    complete(p.index, true);
    return;
  }
  try {
    injector_.maybe_fail("transcribe", records_[p.index].relative_path);
  } catch (...) {
    fail(p.index, std::current_exception(), "transcribe", p.before);
    return;
  }
  if (p.chunk_audio.empty()) {  // no speech at all: an empty transcript
    Transcript t;
    t.language =
        options_.transcribe.language.value_or(setup_.model->config().multilingual() ? "" : "en");
    t.duration = p.audio_s;
    finish(p, t, 0, {});  // no engine ran
    return;
  }
  const size_t index = p.index;
  std::vector<double> durations;
  for (const auto& a : p.chunk_audio)
    durations.push_back(static_cast<double>(a.size()) / kSampleRate);
  InFlight f;
  f.remaining = static_cast<int>(p.chunk_audio.size());
  f.outputs.resize(p.chunk_audio.size());
  if (!setup_.model->config().multilingual())
    f.language = "en";
  else if (options_.transcribe.language)
    f.language = options_.transcribe.language;
  f.prepared = std::move(p);
  f.attempt = ++next_attempt_;
  queue_.add_file(index, durations, !f.language.has_value(), f.attempt);
  in_flight_.emplace(index, std::move(f));
}

void Run::fail_in_flight(size_t index, const std::exception_ptr& error) {
  queue_.drop_file(index);
  auto it = in_flight_.find(index);
  if (it == in_flight_.end()) return;
  const std::optional<manifest::FileDigest> before = it->second.prepared.before;
  in_flight_.erase(it);
  fail(index, error, "transcribe", before);
}

bool Run::is_current(const scheduler::ChunkRef& r) const {
  const auto it = in_flight_.find(r.file);
  return it != in_flight_.end() && it->second.attempt == r.attempt;
}

void Run::dispatch(bool partial_ok) {
  const int size = batch_size_->size();
  std::vector<int> active;
  if (on_cpu_) {
    active.push_back(cpu_engine_);
  } else {
    for (int engine : primary_engines_) {
      const Device device = engine_device(engine);
      if (device.is_cpu() || !paused_gpus_.contains(device.index)) active.push_back(engine);
    }
  }
  for (int engine : active) {
    if (pool_.busy(engine)) continue;
    RunningBatch job;
    job.batch_size = size;
    if (!solo_.empty()) {
      // No more chunks than the size in force: it may have shrunk since the split.
      std::vector<scheduler::ChunkRef>& own = solo_.front();
      const auto take = std::min(own.size(), static_cast<size_t>(size));
      job.refs.assign(own.begin(), own.begin() + static_cast<std::ptrdiff_t>(take));
      own.erase(own.begin(), own.begin() + static_cast<std::ptrdiff_t>(take));
      if (own.empty()) solo_.pop_front();
      job.solo = true;
    } else if (partial_ok || queue_.waiting() >= static_cast<size_t>(size)) {
      job.refs = queue_.next_batch(size);
    }
    // Chunks of recordings that failed since they were queued (in another engine's batch),
    // or of an earlier admission of one that was admitted again.
    std::erase_if(job.refs, [this](const auto& r) { return !is_current(r); });
    if (job.refs.empty()) continue;  // the next idle engine takes the next batch
    std::vector<asr::OwnedChunk> chunks;
    for (const auto& r : job.refs) {
      const InFlight& f = in_flight_.at(r.file);
      const auto chunk = static_cast<size_t>(r.chunk);
      chunks.push_back({f.prepared.chunk_audio[chunk],
                        f.prepared.chunk_offsets[chunk],
                        r.chunk == 0,
                        f.language,
                        {}});
      if (r.chunk == 0 && !f.language)
        chunks.back().language_audio =
            language_audio(f.prepared, options_.transcribe.language_detection_segments);
    }
    std::vector<std::string> names;
    for (size_t file : files_of(job.refs)) names.push_back(records_[file].relative_path);
    observer_.on_transcribe_start(names);
    const uint64_t tag = next_tag_++;
    pool_.submit(engine, tag, std::move(chunks), options_.transcribe);
    running_.emplace(tag, std::move(job));
  }
}

void Run::collect(asr::EngineResult result) {
  auto node = running_.extract(result.tag);
  RunningBatch& batch = node.mapped();
  const double wall = result.wall_s();
  double audio = 0;
  for (const auto& r : batch.refs) audio += r.duration_s;
  const auto size = static_cast<int>(batch.refs.size());
  const auto files = static_cast<int>(files_of(batch.refs).size());
  if (result.error) {
    on_batch_error(batch, result);
    return;
  }
  // A recording that failed while this batch ran may have been admitted again: what the
  // batch holds of the earlier attempt goes nowhere.
  for (size_t i = batch.refs.size(); i-- > 0;) {
    if (is_current(batch.refs[i])) continue;
    batch.refs.erase(batch.refs.begin() + static_cast<std::ptrdiff_t>(i));
    result.outputs.erase(result.outputs.begin() + static_cast<std::ptrdiff_t>(i));
  }
  const std::set<size_t> files_in = files_of(batch.refs);
  // Before deliver(), which hands finished recordings on: each names the engines it used.
  const manifest::EngineRecord used =
      engine_record(engine_device(result.engine), pool_.engine(result.engine).model());
  for (size_t file : files_in) {
    const auto it = in_flight_.find(file);
    if (it == in_flight_.end()) continue;
    std::vector<manifest::EngineRecord>& engines = it->second.engines;
    if (std::find(engines.begin(), engines.end(), used) == engines.end()) engines.push_back(used);
  }
  deliver(batch.refs, std::move(result.outputs), wall / static_cast<double>(size));
  record_batch(size, files, audio, wall, engine_device(result.engine), result.engine);
  if (const auto change = batch_size_->on_batch(memory_fraction())) {
    log::info("batch size ", change->from, " -> ", change->to, " (", change->reason, ")");
    batch_size_history_.emplace_back(seconds_since(started_), change->to);
  }
}

void Run::on_batch_error(const RunningBatch& batch, const asr::EngineResult& result) {
  // Chunks of an attempt that failed while this batch ran go nowhere (collect()); whose
  // the error is still follows from the whole batch, as they may be its cause.
  std::vector<scheduler::ChunkRef> live;
  std::copy_if(batch.refs.begin(), batch.refs.end(), std::back_inserter(live),
               [this](const auto& r) { return is_current(r); });
  try {
    std::rethrow_exception(result.error);
  } catch (const OutOfMemoryError& e) {
    queue_.requeue(live);
    // Another engine already backed off below this batch's size: it is not news. Nor is
    // a batch of the device the run has since left: the size is now another device's.
    const bool left_behind = on_cpu_ ? result.engine != cpu_engine_ : result.engine == cpu_engine_;
    if (left_behind || batch.batch_size > batch_size_->size()) return;
    const scheduler::BatchSizeChange change = batch_size_->on_out_of_memory();
    if (change.to < change.from) {
      const std::string line = "Reducing batch size to " + std::to_string(change.to);
      log::warn(line, " (", e.what(), ")");
      events_.push_back(line);
      batch_size_history_.emplace_back(seconds_since(started_), change.to);
      return;
    }
    if (!engine_device(result.engine).is_cpu()) {
      if (batch_size_->should_fall_back_to_cpu()) {
        gpu_out_of_memory_ = true;  // switch_device resets the controller's count
        switch_device(true, "out of memory " + std::to_string(batch_size_->failures_at_minimum()) +
                                " times in a row at batch size 1");
      }
      return;  // the GPU tries again (the failures count towards the fallback)
    }
    // The CPU at batch size 1: the recording itself does not fit.
    if (!live.empty()) fail_in_flight(live.front().file, result.error);
    return;
  } catch (...) {
    classify(result.error);  // rethrows errors that concern the whole run
  }
  const std::set<size_t> files = files_of(batch.refs);
  if (batch.solo || files.size() == 1) {
    if (!live.empty()) fail_in_flight(*files.begin(), result.error);
    return;
  }
  log::warn("a batch of ", batch.refs.size(), " chunks from ", files.size(), " recordings failed (",
            message_of(result.error), "); running them file by file");
  // File by file, so that one bad recording cannot sink its batch-mates.
  for (size_t file : files) {
    std::vector<scheduler::ChunkRef> own;
    for (const auto& r : live)
      if (r.file == file) own.push_back(r);
    if (!own.empty()) solo_.push_back(std::move(own));
  }
}

void Run::deliver(const std::vector<scheduler::ChunkRef>& batch,
                  std::vector<asr::ChunkOutput>&& outputs, double share_s) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const scheduler::ChunkRef& r = batch[i];
    auto it = in_flight_.find(r.file);
    if (it == in_flight_.end()) continue;
    InFlight& f = it->second;
    asr::ChunkOutput& out = outputs[i];
    if (!f.language) {
      f.language = out.language;
      f.language_probability = out.language_probability;
      log::info(records_[r.file].relative_path, ": detected language '", out.language,
                "' with probability ", out.language_probability);
      queue_.release_held(r.file);
    }
    f.engine_s += share_s;
    if (out.continue_from_s && options_.continue_chunks) continue_chunk(f, r, *out.continue_from_s);
    f.outputs[static_cast<size_t>(r.chunk)] = std::move(out);
    if (--f.remaining == 0) {
      InFlight done = std::move(f);
      in_flight_.erase(it);
      assemble(done);
    }
  }
}

void Run::continue_chunk(InFlight& f, const scheduler::ChunkRef& parent, double from_s) {
  constexpr int kMaxContinuations = 16;  // per recording: a stubborn chunk cannot loop
  if (f.continuations >= kMaxContinuations) return;
  ++f.continuations;
  Prepared& p = f.prepared;
  log::debug(records_[parent.file].relative_path, ": chunk ", parent.chunk, " stopped early at ",
             from_s, " s; decoding the rest as a chunk of its own");
  const auto& audio = p.chunk_audio[static_cast<size_t>(parent.chunk)];
  const auto start = std::min(audio.size(), static_cast<size_t>(std::lround(from_s * kSampleRate)));
  std::vector<float> rest(audio.begin() + static_cast<std::ptrdiff_t>(start), audio.end());
  const double duration = static_cast<double>(rest.size()) / kSampleRate;
  p.chunk_offsets.push_back(p.chunk_offsets[static_cast<size_t>(parent.chunk)] + from_s);
  p.chunk_audio.push_back(std::move(rest));
  f.outputs.emplace_back();
  ++f.remaining;
  const int index = static_cast<int>(p.chunk_audio.size()) - 1;
  queue_.requeue({scheduler::ChunkRef{parent.file, index, duration, parent.attempt}});
}

void Run::assemble(InFlight& f) {
  Prepared& p = f.prepared;
  Transcript t;
  t.language = f.language.value_or("");
  t.language_probability = f.language_probability;
  t.duration = p.audio_s;
  // Concatenated speech has its own timeline; spans are already in the recording's time.
  std::optional<vad::SpeechTimeline> timeline;
  if (options_.concatenate_speech) timeline.emplace(p.regions, kSampleRate);
  double last_speech = 0;
  // In time order: continuations were appended after the chunks that follow them.
  std::vector<size_t> order(f.outputs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p.chunk_offsets[a] < p.chunk_offsets[b]; });
  for (size_t index : order) {
    auto& out = f.outputs[index];
    std::vector<Segment> segments = std::move(out->segments);
    if (out->pending_words)
      last_speech =
          asr::finish_word_timestamps(segments, std::move(*out->pending_words),
                                      pool_.engine(0).eot(), last_speech, options_.transcribe);
    for (Segment& seg : segments) {
      if (seg.start == seg.end || decoding::python_strip(seg.text).empty()) continue;
      if (!timeline) {
        // Nothing to map.
      } else if (!seg.words.empty()) {
        // A word's two ends are mapped through the region its middle falls in.
        for (Word& w : seg.words) {
          const int region = timeline->region_index((w.start + w.end) / 2);
          w.start = timeline->original_time(w.start, region);
          w.end = timeline->original_time(w.end, region);
        }
        seg.start = seg.words.front().start;
        seg.end = seg.words.back().end;
      } else {
        seg.start = timeline->original_time(seg.start);
        seg.end = timeline->original_time(seg.end, std::nullopt, true);
      }
      seg.id = static_cast<int>(t.segments.size()) + 1;
      t.segments.push_back(std::move(seg));
    }
  }
  p.chunk_audio = {};
  finish(p, t, f.engine_s, std::move(f.engines));
}

void Run::switch_device(bool to_cpu, const std::string& why) {
  if (on_cpu_ == to_cpu) return;
  if (to_cpu && cpu_engine_ < 0) {
    log::warn("switching to the CPU (", why, "); loading the model there as int8");
    ExecContext ctx;
    ctx.threads = setup_.ctx.threads;
    const auto model =
        models::WhisperModel::load(options_.model_dir, models::best_cpu_compute_type(), ctx.device,
                                   {.int8_cross_kv = options_.int8_cross_kv});
    cpu_engine_ = pool_.add(model, setup_.transcriber->tokenizer(), ctx);
  } else if (to_cpu) {
    log::warn("switching to the CPU (", why, ")");
  } else {
    log::info("returning to ", setup_.ctx.device.str(), " (", why, ")");
  }
  on_cpu_ = to_cpu;
  events_.push_back("device " + (to_cpu ? std::string("cpu") : setup_.ctx.device.str()) + ": " +
                    why);
  batch_size_->reset(effective_batch_options(options_, !to_cpu));
  batch_size_history_.emplace_back(seconds_since(started_), batch_size_->size());
}

void Run::set_gpu_busy(int device, bool busy, const std::string& why) {
  if (busy) {
    log::warn(why);
    paused_gpus_.insert(device);
  } else {
    log::info(why);
    paused_gpus_.erase(device);
  }
  // Batches go to the GPUs still free; to the CPU only when none is.
  bool any_free = false;
  for (Device d : setup_.devices) any_free |= !d.is_cpu() && !paused_gpus_.contains(d.index);
  if (!any_free)
    switch_device(true, setup_.devices.size() > 1 ? "every GPU busy" : "GPU busy");
  else if (!gpu_out_of_memory_)  // a GPU coming free does not give it the memory it lacked
    switch_device(false, why);
}

void Run::handle_governor_events() {
  std::vector<scheduler::GovernorEvent> events;
  {
    std::lock_guard lock(governor_mutex_);
    events.swap(governor_events_);
  }
  for (const auto& e : events) {
    events_.push_back(e.message);
    switch (e.action) {
      case scheduler::Action::warn_gpu_memory:
        log::warn(e.message);
        break;
      case scheduler::Action::shrink_batch:
        log::warn(e.message);
        // Sequential mode's batches are a fixed number of windows; only RAM rules act there.
        if (!batch_size_) break;
        if (const auto f = memory_fraction())
          if (const auto c = batch_size_->on_critical(*f))
            batch_size_history_.emplace_back(seconds_since(started_), c->to);
        break;
      case scheduler::Action::gpu_busy:
      case scheduler::Action::gpu_free:
        if (batch_size_)
          set_gpu_busy(e.device, e.action == scheduler::Action::gpu_busy, e.message);
        else
          log::warn(e.message);
        break;
      case scheduler::Action::release_caches: {
        const double before = metrics::sample_now().rss_mb;
#ifdef VOICEMAN_CUDA
        for (Device device : setup_.devices)
          if (!device.is_cpu()) cuda::release_cached(device);
#endif
        malloc_trim(0);
        const double after = metrics::sample_now().rss_mb;
        log::warn(e.message, "; reclaimed ", std::lround(std::max(0.0, before - after)), " MB");
        break;
      }
      case scheduler::Action::stop_new_work:
        log::error(e.message);
        stop_new_work_ = true;
        stop_reason_ = e.message;
        break;
    }
  }
}

void Run::start_engines() {
  const tokenizer::Tokenizer& tokenizer = setup_.transcriber->tokenizer();
  const int per_device = setup_.engines_per_device;
  const int engines = per_device * static_cast<int>(setup_.devices.size());
  for (size_t d = 0; d < setup_.devices.size(); ++d) {
    ExecContext ctx = setup_.ctx;
    ctx.device = setup_.devices[d];
    // All engines share the host's cores (a GPU engine's threads score the decoder's
    // rows between steps); a GPU's engines share its weights.
    ctx.threads = std::max(1, setup_.ctx.threads / engines);
    for (int e = 0; e < per_device; ++e)
      primary_engines_.push_back(pool_.add(setup_.models[d], tokenizer, ctx));
  }
  if (pool_.size() > 1)
    log::info(pool_.size(), " engines: ", per_device, " on each of ", setup_.devices.size(),
              " device(s)");
}

void Run::run_chunked() {
  const size_t n = setup_.discovery.inputs.size();
  start_engines();
  batch_size_ = std::make_unique<scheduler::BatchSizeController>(
      effective_batch_options(options_, !setup_.ctx.device.is_cpu()));
  batch_size_history_.emplace_back(0.0, batch_size_->size());
  const auto engines = static_cast<size_t>(primary_engines_.size());
  // Files decoded ahead: enough to fill two batches of short recordings per engine.
  const size_t lookahead = std::max<size_t>(4, 2 * engines * batch_size_->size());
  Prefetcher<Prepared> prefetch(
      n, options_.workers, lookahead, options_.max_batch_audio_s,
      [this](size_t i) { return prepare(i); }, [](const Prepared& p) { return p.audio_s; }, stop_,
      kPrefetchNice);
  while (!stop_.load()) {
    handle_governor_events();
    const size_t size = static_cast<size_t>(batch_size_->size());
    if (!stop_new_work_) {
      while (const auto index = take_due_retry()) admit(prepare(*index));
      // Keep a batch waiting for every engine plus one; wait for the decoders only when
      // no engine has work and less than a batch is waiting.
      while (queue_.waiting() < (engines + 1) * size) {
        const bool idle = running_.empty() && solo_.empty();
        std::optional<Prepared> p =
            idle && queue_.waiting() < size ? prefetch.next() : prefetch.try_next();
        if (!p) break;
        admit(std::move(*p));
      }
    }
    // A partial batch only when nothing else would keep the engines busy.
    const bool no_more = stop_new_work_ || prefetch.exhausted();
    dispatch(running_.empty() || no_more);
    if (!running_.empty()) {
      collect(pool_.wait());
    } else if (no_more && queue_.waiting() == 0 && solo_.empty()) {
      if (!in_flight_.empty()) {
        // Only held chunks are left: their first chunk failed without a language.
        for (const auto& [file, f] : in_flight_) queue_.release_held(file);
        if (queue_.waiting() > 0) continue;
        break;
      }
      if (stop_new_work_ || !wait_for_more()) break;
    }
    if (seconds_since(last_manifest_) > 10) save_manifest(false);
  }
  // Stopped: the batches in the engines finish and their recordings are written.
  while (!running_.empty()) collect(pool_.wait());
}

}  // namespace voiceman::pipeline::detail
