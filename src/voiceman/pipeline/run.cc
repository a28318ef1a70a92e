#include "voiceman/pipeline/run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <utility>

#include "voiceman/asr/transcriber.h"
#include "voiceman/assign/assign.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/core/host_memory.h"
#include "voiceman/core/log.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/journal/journal.h"
#include "voiceman/manifest/manifest.h"
#include "voiceman/pipeline/discovery.h"
#include "voiceman/pipeline/prefetch.h"
#include "voiceman/pipeline/retry.h"
#include "voiceman/pipeline/run_impl.h"
#include "voiceman/pipeline/run_setup.h"
#include "voiceman/writers/atomic_file.h"
#include "voiceman/writers/rttm_writer.h"

namespace voiceman::pipeline {
namespace detail {

namespace fs = std::filesystem;
using manifest::ErrorClass;
using manifest::InputRecord;
using manifest::InputStatus;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

manifest::EngineRecord engine_record(Device device, const models::WhisperModel& model) {
  return {device.str(), models::compute_type_name(model.compute_type())};
}

Run::Run(const RunOptions& options, RunObserver& observer, const std::atomic<bool>& stop)
    : options_(options),
      observer_(observer),
      stop_(stop),
      injector_(options.fault),
      policy_{options.max_retries, options.retry_backoff_s} {}

Prepared Run::prepare(size_t index) {
  const DiscoveredInput& in = setup_.discovery.inputs[index];
  const auto t0 = Clock::now();
  Prepared p;
  p.index = index;
  try {
    if (setup_.job) {
      // Claimed before the original is opened: a recording another worker holds or has
      // finished is not read here at all.
      p.stage = "claim";
      distribute::JobEntry entry = setup_.job->claim(in.relative_path);
      // Finished elsewhere after this OUT had finished it too (this worker died between its
      // journal and the job): its outputs here stay listed, so the resume check decides.
      const auto previous = setup_.previous.find(in.path);
      const bool ours_too = entry.state == distribute::JobEntry::State::done &&
                            previous != setup_.previous.end() &&
                            previous->second.status == InputStatus::ok;
      if (entry.state != distribute::JobEntry::State::claimed && !ours_too) {
        p.elsewhere = std::move(entry);
        p.seconds = seconds_since(t0);
        return p;
      }
    }
    p.stage = "hash";
    injector_.maybe_fail(p.stage, in.relative_path);
    p.before = manifest::hash_file(in.path);
    // A retry reads the original again: it must be what the first attempt read. Only this
    // input's worker touches its slot, and its attempts follow one another.
    std::optional<manifest::FileDigest>& first = first_digest_[index];
    if (!first) {
      first = p.before;
    } else if (*first != *p.before) {
      p.changed_to = std::exchange(p.before, first);
      throw IntegrityError(in.path + ": the original changed between attempts (sha256 " +
                           first->sha256 + " -> " + p.changed_to->sha256 + ")");
    }
    if (const auto it = setup_.previous.find(in.path);
        options_.resume && it != setup_.previous.end()) {
      const InputRecord& was = it->second;
      const bool vouched = was.status == InputStatus::ok && was.before;
      const bool same = vouched && was.before->sha256 == p.before->sha256;
      p.changed_since = was.status == InputStatus::integrity_violation || (vouched && !same);
      p.already_done = same && outputs_intact(was);
      if (p.changed_since || p.already_done) {
        p.seconds = seconds_since(t0);
        return p;
      }
    }
    p.stage = "decode";
    injector_.maybe_fail(p.stage, in.relative_path);
    audio::Audio audio = audio::decode_file(in.path, audio::DecodeOptions{options_.channel});
    p.audio_s = audio.duration_s();
    p.decode_warnings = std::move(audio.warnings);
    p.samples = std::move(audio.samples);
    if (diarizer_) {
      p.stage = "diarize";
      const auto t = Clock::now();
      p.turns = diarizer_->run(p.samples, options_.diarization);
      p.diarize_s = seconds_since(t);
    }
    if (vad_) {
      p.stage = "vad";
      detect_speech(p);
    }
  } catch (...) {
    p.error = std::current_exception();
  }
  p.seconds = seconds_since(t0);
  return p;
}

bool Run::outputs_intact(const InputRecord& previous) const {
  for (writers::Format f : options_.formats) {
    const auto it = std::find_if(
        previous.outputs.begin(), previous.outputs.end(),
        [&](const manifest::OutputRecord& o) { return o.format == writers::format_name(f); });
    if (it == previous.outputs.end()) return false;
    try {
      if (manifest::hash_file(setup_.out_dir / it->path).sha256 != it->sha256) {
        log::warn(it->path, " changed since it was written; transcribing its input again");
        return false;
      }
    } catch (const std::exception&) {
      return false;  // missing or unreadable: write it again
    }
  }
  return true;
}

void Run::accept(Prepared&& p, std::vector<Prepared>& batch, double& batch_audio) {
  if (p.error) {
    if (p.changed_to) records_[p.index].after = p.changed_to;
    fail(p.index, p.error, p.stage, p.before);
  } else if (p.elsewhere) {
    defer(p.index, *p.elsewhere);
  } else if (p.changed_since) {
    keep_broken_custody(p);
  } else if (p.already_done) {
    records_[p.index] = setup_.previous.at(records_[p.index].path);
    ++resumed_;
    report_to_job(p.index);
    complete(p.index, true);
  } else {
    batch_audio += p.audio_s;
    batch.push_back(std::move(p));
  }
}

void Run::process_batch(std::vector<Prepared>& batch) {
  std::vector<Prepared*> live;
  for (Prepared& p : batch) {
    try {
      injector_.maybe_fail("transcribe", records_[p.index].relative_path);
      live.push_back(&p);
    } catch (...) {
      fail(p.index, std::current_exception(), "transcribe", p.before);
    }
  }
  if (live.empty()) return;
  auto transcribe = [&](const std::vector<Prepared*>& items) {
    std::vector<std::span<const float>> audios;
    std::vector<std::string> names;
    for (const Prepared* p : items) {
      audios.emplace_back(p->samples);
      names.push_back(records_[p->index].relative_path);
    }
    observer_.on_transcribe_start(names);
    const auto t0 = Clock::now();
    std::vector<Transcript> out = setup_.transcriber->transcribe(audios, options_.transcribe);
    const double share = seconds_since(t0) / static_cast<double>(items.size());
    const manifest::EngineRecord engine =
        engine_record(setup_.ctx.device, setup_.transcriber->model());
    for (size_t i = 0; i < items.size(); ++i) finish(*items[i], out[i], share, {engine});
  };
  try {
    transcribe(live);
    return;
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    classify(error);  // rethrows errors that concern the whole run
    if (live.size() == 1) {
      fail(live[0]->index, error, "transcribe", live[0]->before);
      return;
    }
    // Find out which recording (or the batch size itself) was the problem.
    log::warn("a batch of ", live.size(), " recordings failed (", message_of(error),
              "); transcribing them one at a time");
  }
  for (Prepared* p : live) {
    try {
      transcribe({p});
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      classify(error);
      fail(p->index, error, "transcribe", p->before);
    }
  }
}

void Run::finish(Prepared& p, Transcript transcript, double engine_s,
                 std::vector<manifest::EngineRecord> engines) {
  InputRecord& rec = records_[p.index];
  std::string stage = "integrity";
  // Written as a set: a failure before the last of them is in place keeps the earlier
  // set (of a re-run) whole; once in place, they are removed again if a later step fails.
  writers::StagedFiles files;
  try {
    // The original must be byte-for-byte what we hashed before reading it.
    manifest::FileDigest after;
    try {
      after = manifest::hash_file(rec.path);
    } catch (const IoError&) {
      throw;
    } catch (const std::exception& e) {
      throw IntegrityError(rec.path + ": could not be re-read after processing (" + e.what() + ")");
    }
    if (after != *p.before) {
      rec.after = after;  // evidence of the change, kept in the manifest
      throw IntegrityError(rec.path + ": the original changed during processing (sha256 " +
                           p.before->sha256 + " -> " + after.sha256 + ", size " +
                           std::to_string(p.before->size) + " -> " + std::to_string(after.size) +
                           ", mtime " + manifest::format_mtime(p.before->mtime_ns) + " -> " +
                           manifest::format_mtime(after.mtime_ns) + ")");
    }
    std::vector<manifest::SpeakerRecord> speakers;
    if (options_.diarize) {
      assign::assign_speakers(transcript, p.turns);
      for (const assign::SpeakerSummary& s : assign::summarize_speakers(transcript))
        speakers.push_back({s.speaker, s.seconds, s.words, s.segments});
    }
    stage = "write";
    // The relative path, not the file name: two recorders' REC001.WAV in one OUT must not
    // share an RTTM file id when their RTTMs are scored together.
    const writers::SourceInfo source{rec.path, writers::rttm_file_id(rec.relative_path), p.audio_s,
                                     p.before->sha256, p.before->md5};
    std::vector<manifest::OutputRecord> outputs;
    for (writers::Format f : options_.formats) {
      const std::string rel = std::string(manifest::kTranscriptsDir) + "/" + rec.relative_path +
                              "." + std::string(writers::format_name(f));
      const fs::path path = setup_.out_dir / rel;
      check_output_path(path, setup_.discovery);
      const std::string content = writers::render(f, transcript, source);
      files.stage(path, content);
      // Injected after the first file, where a failure could leave a half-written set.
      if (outputs.empty()) injector_.maybe_fail(stage, rec.relative_path);
      outputs.push_back({std::string(writers::format_name(f)), rel, manifest::sha256_hex(content),
                         content.size()});
    }
    files.commit();
    InputRecord done;
    done.path = rec.path;
    done.relative_path = rec.relative_path;
    done.root = rec.root;
    done.before = p.before;
    done.after = after;
    done.outputs = std::move(outputs);
    done.speakers = std::move(speakers);
    done.transcribed_on = std::move(engines);
    done.status = InputStatus::ok;
    done.attempts = attempts_[p.index] + 1;
    done.audio_s = p.audio_s;
    done.warnings = p.decode_warnings;
    done.processing_s = p.seconds + engine_s;
    diarize_s_ += p.diarize_s;
    // Committed only now, after every output is durably in place.
    setup_.journal->record(done);
    rec = std::move(done);
    ++attempts_[p.index];
    audio_done_ += p.audio_s;
    p.samples = {};
    report_to_job(p.index);
    complete(p.index, false);
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    for (const fs::path& path : files.committed()) writers::remove_output(path);
    classify(error);
    fail(p.index, error, stage, p.before);
  }
}

void Run::fail(size_t index, const std::exception_ptr& error, const std::string& stage,
               const std::optional<manifest::FileDigest>& before) {
  const ErrorClass cls = classify(error);
  InputRecord& rec = records_[index];
  ++attempts_[index];
  std::string what = message_of(error);
  const std::string name = fs::path(rec.path).filename().string();
  if (what.find(name) == std::string::npos) what = rec.path + ": " + what;
  if (cls == ErrorClass::transient && retries_used_[index] < policy_.max_retries) {
    const int retry = ++retries_used_[index];
    const double delay = policy_.delay_before(retry);
    log::warn(rec.relative_path, ": transient error at ", stage, " (", what, "); retry ", retry,
              "/", policy_.max_retries, " in ", delay, " s");
    retries_.push_back({index, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(delay))});
    return;
  }
  if (before) rec.before = before;
  rec.status =
      cls == ErrorClass::integrity ? InputStatus::integrity_violation : InputStatus::failed;
  rec.stage = stage;
  rec.error = what;
  rec.error_class = cls;
  rec.attempts = attempts_[index];
  rec.outputs.clear();
  if (cls == ErrorClass::integrity) {
    log::error("INTEGRITY VIOLATION: ", what, "; no transcript was written for it");
  } else {
    log::error(rec.relative_path, " failed at ", stage, " (", manifest::error_class_name(cls),
               " error, ", rec.attempts, rec.attempts == 1 ? " attempt" : " attempts", "): ", what);
  }
  setup_.journal->record(rec);
  report_to_job(index);
  complete(index, false);
}

void Run::keep_broken_custody(const Prepared& p) {
  const InputRecord& was = setup_.previous.at(records_[p.index].path);
  InputRecord rec = was;
  rec.after = p.before;
  if (was.status != InputStatus::integrity_violation) {
    rec.status = InputStatus::integrity_violation;
    rec.error_class = ErrorClass::integrity;
    rec.stage = "hash";
    rec.error = rec.path + ": changed since it was transcribed into this OUT (sha256 " +
                (was.before ? was.before->sha256 : std::string("unknown")) + " then, " +
                p.before->sha256 + " now); its record and transcripts are kept: a new OUT, " +
                "or --no-resume, transcribes it again";
  }
  records_[p.index] = rec;
  log::error("INTEGRITY VIOLATION: ", rec.error);
  setup_.journal->record(rec);
  report_to_job(p.index);
  complete(p.index, false);
}

void Run::complete(size_t index, bool resumed) {
  const InputRecord& rec = records_[index];
  ++completed_;
  resumed_inputs_[index] = resumed;
  if (index < setup_.discovery.inputs.size()) bytes_done_ += setup_.discovery.inputs[index].size;
  const int total = static_cast<int>(records_.size());
  if (resumed) {
    log::info("[", completed_, "/", total, "] ", rec.relative_path,
              ": already done (sha256 and outputs unchanged), skipped");
  } else if (rec.status == InputStatus::delegated) {
    log::info("[", completed_, "/", total, "] ", rec.relative_path, ": done by ", rec.worker, " (",
              rec.worker_status, ")");
  } else if (rec.status == InputStatus::ok) {
    log::info("[", completed_, "/", total, "] ", rec.relative_path, ": ok (",
              log::cat(std::round(rec.audio_s * 10) / 10), " s audio in ",
              log::cat(std::round(rec.processing_s * 10) / 10), " s)");
  }
  observer_.on_input_done(InputEvent{rec, resumed, completed_, total, bytes_done_});
}

void Run::wait_for_retry(double max_wait_s) {
  Clock::time_point due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(max_wait_s));
  for (const RetryItem& r : retries_) due = std::min(due, r.due);
  // Short slices so that SIGINT/SIGTERM are honoured during a long backoff.
  while (!stop_.load() && Clock::now() < due)
    std::this_thread::sleep_for(
        std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
}

void Run::save_manifest(bool final) {
  setup_.manifest.inputs = records_;
  const bool pending = std::any_of(records_.begin(), records_.end(), [](const InputRecord& r) {
    return r.status == InputStatus::pending;
  });
  setup_.manifest.status = !final                           ? "running"
                           : !setup_.manifest.error.empty() ? "aborted"
                           : pending                        ? "interrupted"
                                                            : "complete";
  setup_.manifest.finished_utc = final ? manifest::utc_now() : "";
  manifest::write_manifest(setup_.out_dir, setup_.manifest);
  manifest::write_failed_files(setup_.out_dir, records_);
  last_manifest_ = Clock::now();
}

void Run::run_sequential() {
  const size_t n = setup_.discovery.inputs.size();
  const size_t per_batch = static_cast<size_t>(options_.transcribe.batch_windows);
  {
    Prefetcher<Prepared> prefetch(
        n, options_.workers, per_batch, options_.max_batch_audio_s,
        [this](size_t i) { return prepare(i); }, [](const Prepared& p) { return p.audio_s; }, stop_,
        kPrefetchNice);
    for (;;) {
      handle_governor_events();  // the RAM cap stops new work here too
      if (stop_.load() || stop_new_work_) break;
      std::vector<Prepared> batch;
      double batch_audio = 0;
      const auto now = Clock::now();
      for (auto it = retries_.begin(); it != retries_.end() && batch.size() < per_batch &&
                                       batch_audio < options_.max_batch_audio_s;) {
        if (it->due > now) {
          ++it;
          continue;
        }
        const size_t index = it->index;
        const bool takeover = it->takeover;
        it = retries_.erase(it);
        if (!takeover)
          log::info("Retrying ", records_[index].relative_path, " (attempt ", retries_used_[index],
                    "/", policy_.max_retries, ")");
        accept(prepare(index), batch, batch_audio);
      }
      while (batch.size() < per_batch && batch_audio < options_.max_batch_audio_s) {
        std::optional<Prepared> p = prefetch.next();
        if (!p) break;
        accept(std::move(*p), batch, batch_audio);
      }
      if (!batch.empty()) {
        const auto t0 = Clock::now();
        const int files = static_cast<int>(batch.size());
        process_batch(batch);
        record_batch(files, files, batch_audio, seconds_since(t0), setup_.ctx.device);
      } else if (prefetch.exhausted()) {
        if (!wait_for_more()) break;
      }
      if (seconds_since(last_manifest_) > 10) save_manifest(false);
    }
  }
}

void Run::process_inputs() {
  const size_t n = setup_.discovery.inputs.size();
  const std::vector<DiscoveryFailure>& failures = setup_.discovery.failures;
  for (size_t i = 0; i < failures.size(); ++i)
    fail(n + i, std::make_exception_ptr(MediaError(failures[i].error)), "discover", std::nullopt);

  // The engine's memory cap (its out-of-memory back-off is tested through it); removed
  // again when the run ends, whatever way it ends.
  // With several GPUs, each GPU's pool gets the cap.
  const uint64_t cap = options_.engine_memory_cap_mb << 20;
  // A destructor must not throw: after a device fault the reset itself fails, and the
  // fault already unwinding is the error worth reporting.
  struct CapGuard {
    std::vector<Device> devices;  // those given a cap
    ~CapGuard() {
      for (Device device : devices) {
        try {
          if (device.is_cpu()) host_memory::set_cap(0);
#ifdef VOICEMAN_CUDA
          else
            cuda::set_memory_cap(device, 0);
#endif
        } catch (const std::exception& e) {
          log::warn(device.str(), ": could not remove the engine memory cap (", e.what(), ")");
        }
      }
    }
  } cap_guard{cap > 0 ? setup_.devices : std::vector<Device>{}};
  if (cap > 0) {
    for (Device device : setup_.devices) {
      if (device.is_cpu()) host_memory::set_cap(host_memory::stats().in_use + cap);
#ifdef VOICEMAN_CUDA
      else
        cuda::set_memory_cap(device, cap);
#endif
    }
  }
#ifdef VOICEMAN_CUDA
  // Logged once the weights are placed: an integrated GPU's default cap follows the
  // system's available memory, which the host's copies of them no longer take.
  for (Device device : cap > 0 ? std::vector<Device>{} : setup_.devices) {
    const cuda::GpuInfo* gpu = device.is_cpu() ? nullptr : setup_.gpu_probe.find(device.index);
    if (!gpu || !gpu->integrated) continue;
    log::info(device.str(), ": memory cap ", cuda::memory_stats(device).cap >> 20,
              " MiB of unified memory (80% of what the system has available, weights included)");
  }
#endif
  if (options_.mode == RunMode::batched) vad_ = std::make_unique<vad::Vad>(options_.vad_model);
  if (options_.diarize) {
    // One thread each: diarization runs in the decode workers, beside the engine.
    ExecContext one;
    one.threads = 1;
    diarizer_ = std::make_unique<diarize::Diarizer>(diarize::Diarizer::load(
        options_.segmentation_model, options_.speaker_model, one, setup_.diarize_bf16));
  }
  start_metrics();
  if (options_.mode == RunMode::batched)
    run_chunked();
  else
    run_sequential();
}

RunReport Run::execute() {
  setup_ = prepare_run(options_);
  const Discovery& d = setup_.discovery;
  auto add_record = [this](const auto& found) {
    InputRecord r;
    r.path = found.path;
    r.relative_path = found.relative_path;
    r.root = found.root;
    records_.push_back(std::move(r));
  };
  for (const DiscoveredInput& in : d.inputs) add_record(in);
  for (const DiscoveryFailure& f : d.failures) add_record(f);
  attempts_.assign(records_.size(), 0);
  resumed_inputs_.assign(records_.size(), false);
  retries_used_.assign(records_.size(), 0);
  first_digest_.assign(records_.size(), std::nullopt);
  observer_.on_plan(RunPlan{static_cast<int>(records_.size()), static_cast<int>(d.skipped.size()),
                            d.total_bytes});
  save_manifest(false);
  try {
    process_inputs();
  } catch (...) {
    // The manifest must not keep saying "running" for a run that is over.
    setup_.manifest.error = message_of(std::current_exception());
    try {
      save_manifest(true);
    } catch (const std::exception& e) {
      log::error("could not record the aborted run in the manifest: ", e.what());
    }
    throw;
  }
  try {
    write_report();
  } catch (const std::exception& e) {
    // The transcripts and their custody record are what the run is for: complete.
    log::error("could not write the performance report: ", e.what());
  }
  save_manifest(true);

  RunReport report;
  for (const InputRecord& r : records_) {
    report.ok += r.status == InputStatus::ok;
    report.failed += r.status == InputStatus::failed;
    report.integrity_violations += r.status == InputStatus::integrity_violation;
    report.pending += r.status == InputStatus::pending;
    report.delegated += r.status == InputStatus::delegated;
    report.with_warnings += r.status == InputStatus::ok && !r.warnings.empty();
  }
  report.resumed = resumed_;
  report.skipped = static_cast<int>(d.skipped.size());
  for (const manifest::SkippedPath& s : d.skipped)
    ++report.skipped_by_reason[s.reason.rfind("same file as", 0) == 0 ? "duplicate" : s.reason];
  report.interrupted = report.pending > 0;
  report.audio_s = audio_done_;
  report.elapsed_s = seconds_since(started_);
  report.out_dir = setup_.out_dir.string();
  report.manifest_path = (setup_.out_dir / manifest::kManifestFile).string();
  report.failed_path = (setup_.out_dir / manifest::kFailedFile).string();
  report.transcripts_dir = (setup_.out_dir / manifest::kTranscriptsDir).string();
  report.report_path = (setup_.out_dir / "report.html").string();
  report.summary = summary_;
  report.stop_reason = stop_reason_;
  return report;
}

}  // namespace detail

RunReport run(const RunOptions& options, RunObserver& observer, const std::atomic<bool>& stop) {
  return detail::Run(options, observer, stop).execute();
}

}  // namespace voiceman::pipeline
