#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "voiceman/cli/cli.h"
#include "voiceman/cli/commands.h"
#include "voiceman/cli/defaults.h"
#include "voiceman/cli/numbers.h"
#include "voiceman/cli/progress.h"
#include "voiceman/cli/signals.h"
#include "voiceman/core/errors.h"
#include "voiceman/pipeline/run.h"

namespace voiceman::cli {
namespace {

// For unsigned options: CLI11 reads "-1" into a uint64_t as 2^64-1.
const CLI::Validator kNotNegative(
    [](std::string& value) {
      return value.find('-') == std::string::npos ? std::string() : "cannot be negative";
    },
    "", "NOT_NEGATIVE");

// Options that act only with another one are refused without it, not silently dropped.
void reject_ignored_options(const RunArgs& args) {
  const pipeline::RunOptions& o = args.options;
  const bool batched = pipeline::parse_run_mode(args.mode) == pipeline::RunMode::batched;
  const bool job = !o.job.redis_url.empty();
  struct Rule {
    const char* option;
    bool used;  // whether the option acts in this run
    const char* needs;
  };
  const Rule rules[] = {{"--num-speakers", o.diarize, "--diarize"},
                        {"--min-speakers", o.diarize, "--diarize"},
                        {"--max-speakers", o.diarize, "--diarize"},
                        {"--segmentation-model", o.diarize, "--diarize"},
                        {"--speaker-model", o.diarize, "--diarize"},
                        {"--lease", job, "--redis and --job"},
                        {"--batch-size", batched, "--mode batched"},
                        {"--max-batch-size", batched, "--mode batched"},
                        {"--chunk-length", batched, "--mode batched"},
                        {"--no-continue-chunks", batched, "--mode batched"},
                        {"--concatenate-speech", batched, "--mode batched"},
                        {"--vad-model", batched, "--mode batched"},
                        {"--batch-windows", !batched, "--mode sequential"}};
  for (const Rule& r : rules)
    if (!r.used && args.given.contains(r.option))
      throw ConfigError(std::string("invalid option: ") + r.option + " needs " + r.needs +
                        " (without it, it would be ignored)");
}

log::Level current_level() {
  for (log::Level l : {log::Level::debug, log::Level::info, log::Level::warn})
    if (log::enabled(l)) return l;
  return log::Level::error;
}

// Routes library log lines through the progress display while it is alive.
class ProgressSink {
 public:
  explicit ProgressSink(ConsoleProgress& progress) {
    previous_ =
        log::set_sink([&progress](log::Level level,
                                  std::string_view message) { progress.log_line(level, message); },
                      level_ = current_level());
  }
  ~ProgressSink() { log::set_sink(std::move(previous_), level_); }

 private:
  log::Sink previous_;
  log::Level level_;
};

void print_summary(const pipeline::RunReport& r) {
  // Audio seconds per wall second, as performance_report.json's realtime_factor.
  const double rtf = r.elapsed_s > 0 ? r.audio_s / r.elapsed_s : 0;
  std::ostringstream out;
  out << "voiceman run: " << r.ok << " ok";
  if (r.resumed > 0) out << " (" << r.resumed << " already done)";
  out << ", " << r.failed << " failed, " << r.skipped << " skipped";
  if (!r.skipped_by_reason.empty()) {
    out << " (";
    bool first = true;
    for (const auto& [reason, count] : r.skipped_by_reason) {
      out << (first ? "" : ", ") << count << " " << reason;
      first = false;
    }
    out << ")";
  }
  if (r.integrity_violations > 0) out << ", " << r.integrity_violations << " INTEGRITY VIOLATIONS";
  if (r.pending > 0)
    out << ", " << r.pending << " not processed ("
        << (r.stop_reason.empty() ? "interrupted" : "stopped at the RAM cap") << ")";
  if (r.delegated > 0) out << ", " << r.delegated << " done by other workers of the job";
  if (r.with_warnings > 0)
    out << ", " << r.with_warnings << " decoded only in part (warnings in manifest.json)";
  out << "\n  total time " << format_duration(r.elapsed_s) << ", audio "
      << format_duration(r.audio_s) << ", realtime factor ";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", rtf);
  out << buf;
  if (rtf > 0) {
    if (rtf >= 1)
      std::snprintf(buf, sizeof buf, " (%.1fx faster than realtime)", rtf);
    else
      std::snprintf(buf, sizeof buf, " (%.1fx slower than realtime)", 1.0 / rtf);
    out << buf;
  }
  out << "\n  transcripts: " << r.transcripts_dir << "\n  manifest:    " << r.manifest_path
      << "\n  failures:    " << r.failed_path << "\n";
  if (r.pending > 0) out << "  re-run the same command to resume\n";
  std::cout << out.str() << std::flush;
}

}  // namespace

CLI::App* add_run_command(CLI::App& app, RunArgs& args) {
  auto& o = args.options;
  auto& t = o.transcribe;
  CLI::App* cmd = app.add_subcommand(
      "run", "Transcribe files and folders of recordings into OUT, with a custody manifest");
  cmd->fallthrough();  // -v/-q may also follow the subcommand
  cmd->add_option("INPUT", o.inputs, "Recordings or folders (searched recursively)")->required();
  cmd->add_option("-o,--output", o.out_dir, "Output folder OUT (must be outside every input)")
      ->required();
  cmd->add_option("--model", args.model_dir,
                  "CTranslate2 Whisper model folder (default: models/tiny.en)");
  cmd->add_option("--device", o.device,
                  "auto, cpu, cuda (the first GPU), cuda:N, or cuda:all (one engine per GPU; "
                  "batches go to whichever is free). No GPU: falls back to the CPU")
      ->capture_default_str();
  cmd->add_option("--engines-per-device", o.engines_per_device,
                  "Engines per device, each with its own thread and CUDA stream: with 2, one "
                  "batch's encoder runs while another decodes (the engines split --threads). "
                  "0 = automatic: 2 on the CPU with 2 or more threads; on a GPU 2 where its "
                  "free memory holds them (estimated from the model and batch), else 1")
      ->capture_default_str();
  cmd->add_flag("--cuda-graphs", o.cuda_graphs,
                "Replay the decoder's steps as CUDA graphs, one launch per step instead of "
                "a few hundred (GPU, batched mode; ignored on the CPU)");
  cmd->add_flag("--int8-cross-kv", o.int8_cross_kv,
                "Keep the decoder's cross-attention keys and values as int8: about half the "
                "memory traffic of a float16 GPU step for them, and half their memory. "
                "Results change slightly (recorded in the manifest)");
  cmd->add_option("--compute-type", o.compute_type,
                  "auto (float16 on a GPU; on the CPU int8_bfloat16 where it multiplies bf16 "
                  "natively, else int8), float32, int8, int8_bfloat16, float16, bfloat16. "
                  "With --diarize, int8_bfloat16, float16 and bfloat16 also let the "
                  "diarizer's LSTMs multiply in bf16 where the CPU can")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "CPU threads for the engines (0 = all cores); on a GPU they score the "
                  "decoder's rows between steps")
      ->capture_default_str();
  cmd->add_option("--workers", o.workers, "Threads hashing and decoding ahead of the engine")
      ->capture_default_str();
  cmd->add_option("--language", args.language, "Language code, or auto to detect per file")
      ->capture_default_str();
  cmd->add_option("--task", t.task, "transcribe or translate")->capture_default_str();
  cmd->add_option("--beam-size", t.beam_size, "Beam size (1 = greedy)")->capture_default_str();
  cmd->add_option("--best-of", t.best_of, "Samples per window when sampling")
      ->capture_default_str();
  cmd->add_option("--patience", t.patience, "Beam search patience")->capture_default_str();
  cmd->add_option("--temperature", args.temperatures,
                  "Comma-separated fallback temperatures (default 0,0.2,0.4,0.6,0.8,1)");
  cmd->add_flag("--condition-on-previous-text", args.condition,
                "Prompt each window with the previous text (sequential mode only)");
  cmd->add_flag("--no-condition-on-previous-text", args.no_condition,
                "Do not prompt each window with the previous text (the default)");
  cmd->add_flag("--without-timestamps", t.without_timestamps,
                "Decode text only: one segment per 30 s window or chunk");
  cmd->add_option("--initial-prompt", t.initial_prompt, "Text that conditions the first window");
  cmd->add_option("--hotwords", t.hotwords, "Hint phrases for the decoder");
  cmd->add_flag("--no-word-timestamps", args.no_word_timestamps,
                "Skip word start/end times (on by default; the JSON carries words)");
  cmd->add_option("--mode", args.mode,
                  "batched: speech chunks of many files per engine batch; sequential: "
                  "faster-whisper's seek loop per file")
      ->check(CLI::IsMember({"batched", "sequential"}))
      ->capture_default_str();
  cmd->add_option("--chunk-length", o.vad.max_speech_duration_s,
                  "Batched mode: longest chunk of speech in seconds (at most 30)")
      ->capture_default_str();
  cmd->add_flag("--no-continue-chunks", args.no_continue_chunks,
                "Batched mode: do not decode the rest of a chunk whose decoding stopped early "
                "(faster, may drop a last sentence)");
  cmd->add_flag("--concatenate-speech", o.concatenate_speech,
                "Batched mode: chunks of speech with the pauses cut out (BatchedInferencePipeline) "
                "instead of spans of the recording (WhisperX)");
  cmd->add_option("--vad-model", o.vad_model, "Silero VAD model (batched mode)")
      ->capture_default_str();
  cmd->add_option("--batch-size", o.batch.initial,
                  "Batched mode: 30 s windows per batch at the start (0 = auto: 20 on a "
                  "GPU, 8 on the CPU)")
      ->capture_default_str();
  cmd->add_option("--max-batch-size", o.batch.max,
                  "Batched mode: largest batch the size control may reach (0 = auto: 32 on a GPU; "
                  "the CPU holds its starting size)")
      ->capture_default_str();
  cmd->add_option("--engine-memory-cap-mb", o.engine_memory_cap_mb,
                  "Cap on the engine's working memory beyond the model (0 = none on the CPU, "
                  "95% of a GPU, 80% of the available memory of an integrated GPU)")
      ->check(kNotNegative)
      ->capture_default_str();
  cmd->add_option("--ram-cap", args.ram_cap_percent,
                  "Stop taking new files when this process uses more than this % of RAM "
                  "(exit 5; the same command resumes)")
      ->check(CLI::Range(0.001, 100.0))
      ->capture_default_str();
  auto& d = o.diarization;
  cmd->add_flag("--diarize", o.diarize,
                "Speaker diarization: speaker labels on words and segments, RTTM output");
  cmd->add_option("--num-speakers", d.num_speakers,
                  "With --diarize: exactly this many speakers (0 = estimate)")
      ->capture_default_str();
  cmd->add_option("--min-speakers", d.min_speakers, "With --diarize: at least this many speakers")
      ->capture_default_str();
  cmd->add_option("--max-speakers", d.max_speakers,
                  "With --diarize: at most this many speakers (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--segmentation-model", o.segmentation_model,
                  "With --diarize: pyannote segmentation checkpoint (PyanNet)")
      ->capture_default_str();
  cmd->add_option("--speaker-model", o.speaker_model,
                  "With --diarize: speaker embedding checkpoint (resemblyzer GE2E or WeSpeaker "
                  "ResNet34)")
      ->capture_default_str();
  cmd->add_option("--batch-windows", t.batch_windows,
                  "Sequential mode: recordings decoded together (one 30 s window each)")
      ->capture_default_str();
  cmd->add_option("--channel", o.channel, "Transcribe only this channel (default: downmix)");
  cmd->add_option(
         "--formats", args.formats,
         "Outputs: json,srt,vtt,txt[,rttm] (--diarize adds rttm when --formats is not given)")
      ->capture_default_str();
  cmd->add_option("--max-retries", o.max_retries, "Retries of a transiently failing file")
      ->capture_default_str();
  cmd->add_option("--retry-backoff", args.retry_backoff,
                  "Seconds before retry 1,2,3... (the last repeats)")
      ->capture_default_str();
  cmd->add_flag("--no-resume", args.no_resume,
                "Transcribe every input again instead of skipping finished ones");
  cmd->add_flag("--follow-symlinks", o.follow_symlinks,
                "Follow symlinks that point outside the input folders");
  cmd->add_option("--redis", o.job.redis_url,
                  "Share the recordings with other workers through this Redis server: "
                  "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix://[:PASSWORD@]/PATH (with --job)");
  cmd->add_option("--job", o.job.name,
                  "Name of the shared run: every worker gives the same INPUTs, options and "
                  "job name, each its own OUT");
  cmd->add_option("--lease", o.job.lease_s,
                  "With --redis: seconds after which a silent worker's recordings go to the others")
      ->capture_default_str();
  cmd->footer(
      std::string(
          "Originals are only read, never written; their MD5 and SHA-256 are taken before and "
          "after\n"
          "processing. Each input's outputs go to OUT/transcripts/<path under its input folder>\n"
          "plus .json/.srt/.vtt/.txt, written atomically as soon as that input is done.\n"
          "OUT/manifest.json records hashes, tool and model versions, options and host;\n"
          "OUT/failed_files.json lists failures. Re-running the same command resumes: inputs\n"
          "whose outputs exist and whose sha256 is unchanged are skipped.\n\n"
          "Scale-out: start the same command on several machines with --redis and --job and\n"
          "a different OUT each. A recording is claimed before it is read; each worker\n"
          "transcribes its share and lists the others' as \"delegated\" (with the worker) in\n"
          "its manifest. A worker that dies leaves its claims to lapse after --lease seconds,\n"
          "and the others take them over; every worker ends when the whole job is done.\n\n"
          "Environment: VOICEMAN_INJECT_FAULT=KIND:GLOB:N[:STAGE] makes matching files fail N\n"
          "times (KIND transient|permanent; STAGE hash|decode|transcribe|write) to test "
          "recovery.\n\n") +
      exit_codes_help());
  // Which options were given, not just their values: an explicit default counts.
  cmd->final_callback([cmd, &args] {
    for (const CLI::Option* option : cmd->get_options())
      if (option->count() > 0) args.given.insert(option->get_name());
  });
  return cmd;
}

pipeline::RunOptions run_options(const RunArgs& args) {
  reject_ignored_options(args);
  pipeline::RunOptions o = args.options;
  o.model_dir = args.model_dir.empty() ? default_model_dir().string() : args.model_dir;
  if (args.language != "auto") o.transcribe.language = args.language;
  if (!args.temperatures.empty())
    o.transcribe.temperatures = parse_floats(args.temperatures, "--temperature");
  o.mode = pipeline::parse_run_mode(args.mode);
  o.continue_chunks = !args.no_continue_chunks;
  if (o.vad_model == pipeline::RunOptions{}.vad_model) o.vad_model = default_vad_model().string();
  if (args.condition && args.no_condition)
    throw ConfigError(
        "--condition-on-previous-text and --no-condition-on-previous-text contradict");
  o.transcribe.condition_on_previous_text = args.condition;
  o.governor.ram_cap_fraction = args.ram_cap_percent / 100.0;
  o.transcribe.word_timestamps = !args.no_word_timestamps;
  o.formats = writers::parse_formats(args.formats);
  // RTTM is added only to the default list: an explicit --formats is taken as given.
  if (o.diarize && !args.given.contains("--formats")) o.formats.push_back(writers::Format::rttm);
  if (o.segmentation_model == pipeline::RunOptions{}.segmentation_model)
    o.segmentation_model = default_segmentation_model().string();
  if (o.speaker_model == pipeline::RunOptions{}.speaker_model)
    o.speaker_model = default_speaker_model().string();
  o.retry_backoff_s = parse_numbers(args.retry_backoff, "--retry-backoff");
  o.resume = !args.no_resume;
  // The one place the environment is read: the library only sees an option.
  if (const char* fault = std::getenv("VOICEMAN_INJECT_FAULT"); fault && *fault) {
    o.fault = pipeline::parse_fault_spec(fault);
    log::warn("fault injection active: ", fault);
  }
  return o;
}

int run_run(const RunArgs& args) {
  const pipeline::RunOptions o = run_options(args);
  ConsoleProgress progress(::isatty(STDERR_FILENO) == 1);
  pipeline::RunReport report;
  bool signalled = false;
  {
    ProgressSink sink(progress);
    StopOnSignals signals;
    report = pipeline::run(o, progress, signals.flag());
    signalled = signals.flag().load();
  }
  print_summary(report);
  if (!report.summary.empty())
    std::cout << report.summary << "\n  report:      " << report.report_path << "\n" << std::flush;
  if (!report.stop_reason.empty())
    std::cerr << "voiceman run: stopped early: " << report.stop_reason << "\n";
  if (report.integrity_violations > 0) return kExitIntegrity;
  if (report.interrupted)
    return signalled || report.stop_reason.empty() ? kExitInterrupted : kExitResourceStop;
  if (report.failed > 0) return kExitSomeFailed;
  return kExitOk;
}

}  // namespace voiceman::cli
