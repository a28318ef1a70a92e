// Batched mode of `voiceman run`: speech chunks of many recordings share engine batches.
//   prefetch workers: hash -> decode -> VAD -> chunks     (other cores, ahead of the engine)
//   ChunkQueue: chunks of any recordings, batched by length
//   engine: one batch at a time, with out-of-memory back-off and CPU fallback
//   reassembly: a recording's chunks in order -> word times -> original timeline -> writers
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/decoding/text_utils.h"
#include "voiceman/engine/cuda/runtime.h"
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
    retries_.erase(it);
    log::info("Retrying ", records_[index].relative_path, " (attempt ", retries_used_[index], "/",
              policy_.max_retries, ")");
    return index;
  }
  return std::nullopt;
}

void Run::admit(Prepared&& p) {
  if (p.error) {
    fail(p.index, p.error, p.stage, p.before);
    return;
  }
  if (p.already_done) {
    records_[p.index] = setup_.previous.at(records_[p.index].path);
    ++resumed_;
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
    finish(p, t, 0);
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
  queue_.add_file(index, durations, !f.language.has_value());
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

void Run::run_batch(std::vector<scheduler::ChunkRef> batch) {
  const std::set<size_t> files = files_of(batch);
  auto inputs_of = [this](const std::vector<scheduler::ChunkRef>& refs) {
    std::vector<asr::ChunkInput> inputs;
    for (const auto& r : refs) {
      const InFlight& f = in_flight_.at(r.file);
      asr::ChunkInput in;
      in.audio = f.prepared.chunk_audio[static_cast<size_t>(r.chunk)];
      in.offset = f.prepared.chunk_offsets[static_cast<size_t>(r.chunk)];
      in.first = r.chunk == 0;
      in.language = f.language;
      inputs.push_back(in);
    }
    return inputs;
  };
  std::vector<std::string> names;
  for (size_t file : files) names.push_back(records_[file].relative_path);
  observer_.on_transcribe_start(names);
  const auto t0 = Clock::now();
  try {
    std::vector<asr::ChunkOutput> outputs =
        engine_->transcribe(inputs_of(batch), options_.transcribe);
    const double wall = seconds_since(t0);
    double audio = 0;
    for (const auto& r : batch) audio += r.duration_s;
    const std::string device = engine_->context().device.str();
    (engine_->context().device.is_cpu() ? cpu_audio_s_ : gpu_audio_s_) += audio;
    deliver(batch, std::move(outputs), wall);
    record_batch(static_cast<int>(batch.size()), static_cast<int>(files.size()), audio, wall);
    if (const auto change = batch_size_->on_batch(memory_fraction())) {
      log::info("batch size ", change->from, " -> ", change->to, " (", change->reason, ")");
      batch_size_history_.emplace_back(seconds_since(started_), change->to);
    }
    return;
  } catch (const OutOfMemoryError& e) {
    const scheduler::BatchSizeChange change = batch_size_->on_out_of_memory();
    queue_.requeue(batch);
    if (change.to < change.from) {
      const std::string line = "Reducing batch size to " + std::to_string(change.to);
      log::warn(line, " (", e.what(), ")");
      events_.push_back(line);
      batch_size_history_.emplace_back(seconds_since(started_), change.to);
      return;
    }
    if (!engine_->context().device.is_cpu()) {
      if (batch_size_->should_fall_back_to_cpu())
        switch_device(Device::cpu(), "out of memory " +
                                         std::to_string(batch_size_->failures_at_minimum()) +
                                         " times in a row at batch size 1");
      return;  // the GPU tries again (the failures count towards the fallback)
    }
    // The CPU at batch size 1: the recording itself does not fit.
    fail_in_flight(batch.front().file, std::current_exception());
    return;
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    classify(error);  // rethrows errors that concern the whole run
    if (files.size() == 1) {
      fail_in_flight(*files.begin(), error);
      return;
    }
    log::warn("a batch of ", batch.size(), " chunks from ", files.size(), " recordings failed (",
              message_of(error), "); running them file by file");
  }
  // File by file, so that one bad recording cannot sink its batch-mates.
  for (size_t file : files) {
    std::vector<scheduler::ChunkRef> own;
    for (const auto& r : batch)
      if (r.file == file) own.push_back(r);
    const auto t1 = Clock::now();
    try {
      deliver(own, engine_->transcribe(inputs_of(own), options_.transcribe), seconds_since(t1));
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      classify(error);
      fail_in_flight(file, error);
    }
  }
}

void Run::deliver(const std::vector<scheduler::ChunkRef>& batch,
                  std::vector<asr::ChunkOutput>&& outputs, double wall_s) {
  const double share = wall_s / static_cast<double>(std::max<size_t>(1, batch.size()));
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
    f.engine_s += share;
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
  queue_.requeue({scheduler::ChunkRef{parent.file, index, duration}});
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
      last_speech = asr::finish_word_timestamps(segments, std::move(*out->pending_words),
                                                engine_->eot(), last_speech, options_.transcribe);
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
  finish(p, t, f.engine_s);
}

void Run::switch_device(Device device, const std::string& why) {
  if (engine_->context().device == device) return;
  if (device.is_cpu()) {
    if (!cpu_chunker_) {
      log::warn("switching to the CPU (", why, "); loading the model there as int8");
      ExecContext ctx;
      ctx.device = Device::cpu();
      ctx.threads = setup_.ctx.threads;
      const auto model = models::WhisperModel::load(options_.model_dir,
                                                    models::best_cpu_compute_type(), ctx.device);
      cpu_chunker_ = std::make_unique<asr::ChunkTranscriber>(
          model, tokenizer::Tokenizer::load(options_.model_dir), ctx);
    } else {
      log::warn("switching to the CPU (", why, ")");
    }
    engine_ = cpu_chunker_.get();
  } else {
    log::info("returning to ", device.str(), " (", why, ")");
    engine_ = chunker_.get();
  }
  events_.push_back("device " + engine_->context().device.str() + ": " + why);
  batch_size_->reset(effective_batch_options(options_, !device.is_cpu()).initial);
  batch_size_history_.emplace_back(seconds_since(started_), batch_size_->size());
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
        if (const auto f = memory_fraction())
          if (const auto c = batch_size_->on_critical(*f))
            batch_size_history_.emplace_back(seconds_since(started_), c->to);
        break;
      case scheduler::Action::gpu_busy:
        log::warn(e.message);
        switch_device(Device::cpu(), "GPU busy");
        break;
      case scheduler::Action::gpu_free:
        if (!batch_size_->should_fall_back_to_cpu()) switch_device(setup_.ctx.device, e.message);
        break;
      case scheduler::Action::release_caches: {
        const double before = metrics::sample_now().rss_mb;
#ifdef VOICEMAN_CUDA
        if (!setup_.ctx.device.is_cpu()) cuda::release_cached(setup_.ctx.device);
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

void Run::run_chunked() {
  const size_t n = setup_.discovery.inputs.size();
  chunker_ = std::make_unique<asr::ChunkTranscriber>(
      setup_.model, tokenizer::Tokenizer::load(options_.model_dir), setup_.ctx);
  engine_ = chunker_.get();
  batch_size_ = std::make_unique<scheduler::BatchSizeController>(
      effective_batch_options(options_, !setup_.ctx.device.is_cpu()));
  batch_size_history_.emplace_back(0.0, batch_size_->size());
  // Files decoded ahead: enough to fill two batches of short recordings.
  const size_t lookahead = static_cast<size_t>(std::max(4, 2 * batch_size_->size()));
  Prefetcher<Prepared> prefetch(
      n, options_.workers, lookahead, options_.max_batch_audio_s,
      [this](size_t i) { return prepare(i); }, [](const Prepared& p) { return p.audio_s; }, stop_,
      kPrefetchNice);
  while (!stop_.load()) {
    handle_governor_events();
    const size_t size = static_cast<size_t>(batch_size_->size());
    if (!stop_new_work_) {
      while (const auto index = take_due_retry()) admit(prepare(*index));
      // Keep two batches' worth waiting; wait for the decoders only below one batch.
      while (queue_.waiting() < 2 * size) {
        std::optional<Prepared> p = queue_.waiting() < size ? prefetch.next() : prefetch.try_next();
        if (!p) break;
        admit(std::move(*p));
      }
    }
    std::vector<scheduler::ChunkRef> batch = queue_.next_batch(static_cast<int>(size));
    if (!batch.empty()) {
      run_batch(std::move(batch));
    } else if (stop_new_work_ || prefetch.exhausted()) {
      if (!in_flight_.empty()) {
        // Only held chunks are left: their first chunk failed without a language.
        for (const auto& [file, f] : in_flight_) queue_.release_held(file);
        if (queue_.waiting() > 0) continue;
        break;
      }
      if (retries_.empty() || stop_new_work_) break;
      wait_for_retry();
    }
    if (seconds_since(last_manifest_) > 10) save_manifest(false);
  }
}

}  // namespace voiceman::pipeline::detail
