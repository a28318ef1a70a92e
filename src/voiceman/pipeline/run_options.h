#pragma once
// Everything `voiceman run` can be told, in one plain struct validated in one place.
// Every field is honoured by the pipeline and recorded in the manifest.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "voiceman/asr/options.h"
#include "voiceman/pipeline/fault_injection.h"
#include "voiceman/writers/formats.h"

namespace voiceman::pipeline {

struct RunOptions {
  std::vector<std::string> inputs;           // files or folders, searched recursively
  std::string out_dir;                       // OUT: transcripts/, manifest.json, journal
  std::string model_dir = "models/tiny.en";  // CTranslate2 Whisper folder
  std::string compute_type = "float32";      // float32 or int8
  std::string device = "auto";               // auto, cpu or cuda (falls back to CPU)
  int threads = 0;                           // CPU threads for the engine; 0 = all cores
  int workers = 1;                           // threads hashing and decoding ahead of the engine
  int channel = -1;                          // -1 downmixes; N keeps channel N
  std::vector<writers::Format> formats = {writers::Format::json, writers::Format::srt,
                                          writers::Format::vtt, writers::Format::txt};
  int max_retries = 3;                                // retries of a transiently failing input
  std::vector<double> retry_backoff_s = {5, 15, 30};  // delays before retries 1, 2, 3...
  bool resume = true;               // skip inputs already done with unchanged sha256
  bool follow_symlinks = false;     // follow symlinks that leave the input roots
  double max_batch_audio_s = 1800;  // decoded audio held per batch (bounds memory)
  std::optional<FaultSpec> fault;   // test hook: injected failures (see fault_injection.h)
  // Decoding options; files per batch = transcribe.batch_windows. Word timestamps are on
  // by default because the JSON output carries words.
  asr::TranscribeOptions transcribe = [] {
    asr::TranscribeOptions o;
    o.word_timestamps = true;
    return o;
  }();
};

// Throws ConfigError naming the first bad option.
void validate(const RunOptions& options);

// Every option in effect, for the manifest.
nlohmann::ordered_json to_json(const RunOptions& options);
// The options that change what a transcript says; a resumed run must match them.
nlohmann::ordered_json transcript_settings(const RunOptions& options);
nlohmann::ordered_json to_json(const asr::TranscribeOptions& options);

}  // namespace voiceman::pipeline
