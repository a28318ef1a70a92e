#pragma once
// The inside of `voiceman run` (run.h is the interface). One Run object owns one run's
// state; run.cc has the file life cycle (hash, decode, write, fail, journal, manifest)
// and the sequential engine loop, run_chunked.cc the batched VAD-chunk loop,
// run_job.cc the shared job's claims (--redis/--job), and run_report.cc the metrics and
// performance report.
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "voiceman/asr/chunk_transcriber.h"
#include "voiceman/asr/engine_pool.h"
#include "voiceman/diarize/diarizer.h"
#include "voiceman/metrics/batch_metrics.h"
#include "voiceman/metrics/resources.h"
#include "voiceman/pipeline/events.h"
#include "voiceman/pipeline/fault_injection.h"
#include "voiceman/pipeline/retry.h"
#include "voiceman/pipeline/run_options.h"
#include "voiceman/pipeline/run_setup.h"
#include "voiceman/scheduler/batch_size.h"
#include "voiceman/scheduler/chunk_queue.h"
#include "voiceman/scheduler/governor.h"
#include "voiceman/vad/vad.h"
#include "voiceman/writers/metrics_log.h"

namespace voiceman::pipeline::detail {

using Clock = std::chrono::steady_clock;

// Prefetch work (hashing, decoding, VAD, diarization) can wait; the engine cannot. The
// workers run 10 nice levels below it, so they take the cycles the engine leaves idle
// instead of splitting its cores with it (dev corpus, 2 cores, --diarize: 21.8 -> 20.4 s).
constexpr int kPrefetchNice = 10;

double seconds_since(Clock::time_point t);
std::string message_of(const std::exception_ptr& error);

// One input after hashing, decoding and (batched mode) VAD, or after the step that failed.
struct Prepared {
  size_t index = 0;
  std::optional<manifest::FileDigest> before;
  std::vector<float> samples;  // 16 kHz mono (sequential mode)
  double audio_s = 0;
  std::vector<std::string> decode_warnings;  // kept in the manifest
  bool already_done = false;  // resume: sha256 and outputs unchanged since an earlier run
  // Resume: the original differs from what an earlier run of this OUT recorded, or that
  // run recorded it changing. That record stands; nothing is transcribed.
  bool changed_since = false;
  // Shared job: another worker holds or has finished it; nothing was read.
  std::optional<distribute::JobEntry> elsewhere;
  std::exception_ptr error;
  // A retry found the original changed since the first attempt: `before` is then the
  // first attempt's digest and this the one now.
  std::optional<manifest::FileDigest> changed_to;
  std::string stage;
  double seconds = 0;  // spent hashing, decoding and detecting speech
  // Batched mode: the speech regions and the chunks made of them.
  std::vector<vad::SpeechRegion> regions;
  std::vector<std::vector<float>> chunk_audio;  // concatenated speech per chunk
  std::vector<double> chunk_offsets;            // seconds on the speech-only timeline
  // Diarized runs: who spoke when, found while the engine works on other files.
  std::vector<SpeakerTurn> turns;
  double diarize_s = 0;
};

// How the manifest names an engine that made a transcript: its device and the compute
// type its model runs in (run.cc).
manifest::EngineRecord engine_record(Device device, const models::WhisperModel& model);

// A recording whose chunks are in the engine.
struct InFlight {
  Prepared prepared;
  // This admission of the recording: chunks of an earlier one that failed (still in an
  // engine, or put back after running out of memory) are stale.
  uint32_t attempt = 0;
  std::vector<std::optional<asr::ChunkOutput>> outputs;
  int remaining = 0;
  std::optional<std::string> language;
  float language_probability = 1;
  double engine_s = 0;                          // its share of the batches it was in
  std::vector<manifest::EngineRecord> engines;  // that ran its chunks, in first-use order
  int continuations = 0;
};

// A batch in an engine of the pool.
struct RunningBatch {
  std::vector<scheduler::ChunkRef> refs;
  int batch_size = 0;  // the size in force when it started
  bool solo = false;   // one recording's chunks after its batch failed: errors are its own
};

struct RetryItem {
  size_t index;
  Clock::time_point due;
  bool takeover = false;  // the job's worker that held it stopped renewing its claim
};

class Run {
 public:
  Run(const RunOptions& options, RunObserver& observer, const std::atomic<bool>& stop);
  RunReport execute();

 private:
  // Everything between the first and the last manifest: the engines, then the inputs.
  void process_inputs();
  // run.cc: the file life cycle.
  Prepared prepare(size_t index);
  void detect_speech(Prepared& p) const;
  bool outputs_intact(const manifest::InputRecord& previous) const;
  void finish(Prepared& p, Transcript transcript, double engine_s,
              std::vector<manifest::EngineRecord> engines);
  void fail(size_t index, const std::exception_ptr& error, const std::string& stage,
            const std::optional<manifest::FileDigest>& before);
  void complete(size_t index, bool resumed);
  void keep_broken_custody(const Prepared& p);
  std::optional<size_t> take_due_retry();
  // Waits for the first retry to fall due, for at most `max_wait_s`.
  void wait_for_retry(double max_wait_s);
  // Retries to wait for, or recordings other workers of the job hold: waits for the next
  // of them. False when neither is left.
  bool wait_for_more();
  void save_manifest(bool final);
  // Sequential mode (the seek loop over whole recordings, several per engine call).
  void run_sequential();
  void accept(Prepared&& p, std::vector<Prepared>& batch, double& batch_audio);
  void process_batch(std::vector<Prepared>& batch);

  // run_job.cc: the shared job (--redis/--job).
  // A recording another worker holds (watched until it is done or its claim lapses) or
  // has finished (delegated).
  void defer(size_t index, const distribute::JobEntry& entry);
  void delegate(size_t index, const distribute::JobEntry& entry);
  // Checks the watched recordings: finished ones are delegated, lapsed ones taken over.
  void poll_job();
  // Records a final outcome in the job (a failure to do so is logged, not fatal).
  void report_to_job(size_t index);

  // run_chunked.cc: batched VAD chunks of many recordings.
  void run_chunked();
  void start_engines();
  void admit(Prepared&& p);
  // Starts batches on the idle active engines.
  void dispatch(bool partial_ok);
  void collect(asr::EngineResult result);
  void on_batch_error(const RunningBatch& batch, const asr::EngineResult& result);
  // share_s: the engine seconds each chunk of the batch is charged.
  void deliver(const std::vector<scheduler::ChunkRef>& batch,
               std::vector<asr::ChunkOutput>&& outputs, double share_s);
  void fail_in_flight(size_t index, const std::exception_ptr& error);
  bool is_current(const scheduler::ChunkRef& r) const;
  void continue_chunk(InFlight& f, const scheduler::ChunkRef& parent, double from_s);
  void assemble(InFlight& f);
  // To the CPU engine (loaded on first use) or back to the run's devices.
  void switch_device(bool to_cpu, const std::string& why);
  // The governor found GPU `device` busy (or free again): its engines stop (or resume)
  // taking batches; the run moves to the CPU when no GPU is left.
  void set_gpu_busy(int device, bool busy, const std::string& why);
  Device engine_device(int engine) const { return pool_.engine(engine).context().device; }
  void handle_governor_events();

  // run_report.cc: metrics and the report.
  void start_metrics();
  void record_batch(int windows, int files, double audio_s, double wall_s, Device device,
                    int engine = 0);
  void write_report();
  std::optional<double> memory_fraction() const;

  const RunOptions& options_;
  RunObserver& observer_;
  const std::atomic<bool>& stop_;
  FaultInjector injector_;
  RetryPolicy policy_;

  RunSetup setup_;
  std::vector<manifest::InputRecord> records_;  // discovered inputs, then discovery failures
  std::vector<int> attempts_;
  std::vector<int> retries_used_;
  // Per input: its digest at the first attempt, which a retry's must still be.
  std::vector<std::optional<manifest::FileDigest>> first_digest_;
  std::vector<char> resumed_inputs_;  // per input: done by an earlier run
  std::deque<RetryItem> retries_;
  std::vector<size_t> watched_;  // held by other workers of the job
  int completed_ = 0;
  uint64_t bytes_done_ = 0;
  double audio_done_ = 0;
  int resumed_ = 0;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_manifest_ = Clock::now();

  // Batched mode.
  std::unique_ptr<vad::Vad> vad_;
  std::unique_ptr<diarize::Diarizer> diarizer_;
  double diarize_s_ = 0;  // diarization time of the files finished so far
  asr::EnginePool pool_;
  std::vector<int> primary_engines_;  // engines_per_device on each of the run's devices
  int cpu_engine_ = -1;               // loaded on a GPU fallback
  bool on_cpu_ = false;               // batches go to the CPU engine (after a fallback)
  bool gpu_out_of_memory_ = false;    // fell back for want of GPU memory: no way back
  std::set<int> paused_gpus_;         // GPUs the governor found busy: no new batches
  std::map<uint64_t, RunningBatch> running_;
  uint64_t next_tag_ = 0;
  uint32_t next_attempt_ = 0;
  std::deque<std::vector<scheduler::ChunkRef>> solo_;  // split failed batches, one file each
  std::map<size_t, InFlight> in_flight_;
  scheduler::ChunkQueue queue_;
  std::unique_ptr<scheduler::BatchSizeController> batch_size_;
  std::unique_ptr<scheduler::Governor> governor_;
  std::vector<scheduler::GovernorEvent> governor_events_;  // from the sampler thread
  std::mutex governor_mutex_;
  bool stop_new_work_ = false;
  std::string stop_reason_;

  // Metrics.
  std::unique_ptr<metrics::ResourceSampler> sampler_;
  std::unique_ptr<writers::MetricsLog> metrics_log_;
  std::vector<metrics::BatchMetrics> batches_;
  std::vector<std::pair<double, int>> batch_size_history_;
  std::vector<std::string> events_;
  double gpu_audio_s_ = 0;
  double cpu_audio_s_ = 0;
  std::string started_utc_;
  std::string summary_;  // the report's terminal summary
};

}  // namespace voiceman::pipeline::detail
