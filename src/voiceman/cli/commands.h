#pragma once
// Subcommands: each parses into a plain args struct, then calls the library.
#include <CLI/CLI.hpp>
#include <set>
#include <string>

#include "voiceman/asr/options.h"
#include "voiceman/pipeline/run_options.h"

namespace voiceman::cli {

struct TranscribeArgs {
  std::string file;
  std::string model_dir;  // empty: default_model_dir()
  std::string compute_type = "float32";
  std::string device = "cpu";
  int threads = 0;           // 0 = all cores
  std::string temperatures;  // comma list; empty = faster-whisper's schedule
  bool no_condition = false;
  bool json = false;
  bool int8_cross_kv = false;  // models::DecoderOptions
  asr::TranscribeOptions options;
};

CLI::App* add_transcribe_command(CLI::App& app, TranscribeArgs& args);
int run_transcribe(const TranscribeArgs& args);

// `voiceman run`: options that need parsing are kept as text, the rest go straight
// into the pipeline's option struct.
struct RunArgs {
  std::string model_dir;  // empty: default_model_dir()
  std::string language = "auto";
  std::string temperatures;   // comma list; empty = faster-whisper's schedule
  bool condition = false;     // --condition-on-previous-text (sequential mode)
  bool no_condition = false;  // --no-condition-on-previous-text (the default)
  bool no_word_timestamps = false;
  std::string mode = "batched";
  bool no_continue_chunks = false;
  double ram_cap_percent = 80;
  std::string formats = "json,srt,vtt,txt";
  std::string retry_backoff = "5,15,30";
  bool no_resume = false;
  pipeline::RunOptions options;
  // Long names of the options given on the command line (filled by the parse): whether
  // an option was given, even at its default value, decides some checks.
  std::set<std::string> given;
};

CLI::App* add_run_command(CLI::App& app, RunArgs& args);
// The pipeline's options from the parsed arguments. ConfigError for options that need
// another one that is missing; pipeline::validate checks the rest when the run starts.
pipeline::RunOptions run_options(const RunArgs& args);
int run_run(const RunArgs& args);

struct VerifyArgs {
  std::vector<std::string> out_dirs;
};

CLI::App* add_verify_command(CLI::App& app, VerifyArgs& args);
int run_verify(const VerifyArgs& args);

struct JobArgs {
  std::string redis_url;
  std::string name;
  bool json = false;
};

CLI::App* add_job_command(CLI::App& app, JobArgs& args);
int run_job(const JobArgs& args);

}  // namespace voiceman::cli
