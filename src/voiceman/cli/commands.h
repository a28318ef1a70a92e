#pragma once
// Subcommands: each parses into a plain args struct, then calls the library.
#include <CLI/CLI.hpp>
#include <string>

#include "voiceman/asr/options.h"

namespace voiceman::cli {

struct TranscribeArgs {
  std::string file;
  std::string model_dir = "models/tiny.en";
  std::string compute_type = "float32";
  std::string device = "cpu";
  int threads = 0;  // 0 = all cores
  std::string temperatures;  // comma list; empty = faster-whisper's schedule
  bool no_condition = false;
  bool json = false;
  asr::TranscribeOptions options;
};

CLI::App* add_transcribe_command(CLI::App& app, TranscribeArgs& args);
int run_transcribe(const TranscribeArgs& args);

}  // namespace voiceman::cli
