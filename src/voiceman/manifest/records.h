#pragma once
// What the custody record says about one input: where it came from, its digests before
// and after processing, what happened to it and which files it produced. Shared by the
// journal (resume state), the manifest and failed_files.json.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "voiceman/manifest/hashing.h"

namespace voiceman::manifest {

// delegated: another worker of the same job (--redis/--job) processed it; its own
// manifest has the outputs.
enum class InputStatus { pending, ok, failed, integrity_violation, delegated };
std::string_view status_name(InputStatus status);
InputStatus parse_status(std::string_view name);  // throws Error on an unknown name

// Why a failure happened, as the retry policy classed it.
enum class ErrorClass { none, permanent, transient, integrity };
std::string_view error_class_name(ErrorClass error_class);
ErrorClass parse_error_class(std::string_view name);

struct OutputRecord {
  std::string format;  // json, srt, vtt, txt, rttm
  std::string path;    // relative to OUT, '/'-separated
  std::string sha256;
  uint64_t size = 0;
};

// An engine that made (part of) a transcript: where it ran and in which arithmetic. A
// run that moves to the CPU (GPU out of memory or busy) changes both, and a recording
// whose chunks ran before and after the move lists two.
struct EngineRecord {
  std::string device;        // cpu, cuda:0...
  std::string compute_type;  // int8, float16... (what the engine's model runs in)
  bool operator==(const EngineRecord&) const = default;
};

// Who spoke how much in one recording (diarized runs).
struct SpeakerRecord {
  std::string speaker;  // SPEAKER_00...
  double seconds = 0;   // speech attributed to the speaker
  int words = 0;
  int segments = 0;
  bool operator==(const SpeakerRecord&) const = default;
};

struct InputRecord {
  std::string path;                  // absolute path of the original as discovered
  std::string relative_path;         // under its input root; the outputs mirror it
  std::string root;                  // the input root it was found under
  std::optional<FileDigest> before;  // digest before processing
  std::optional<FileDigest> after;   // digest after transcription, before writing outputs
  InputStatus status = InputStatus::pending;
  int attempts = 0;
  std::string stage;  // failed stage: discover, hash, decode, transcribe, integrity, write
  std::string error;  // message naming the file and the reason
  ErrorClass error_class = ErrorClass::none;
  double audio_s = 0;                 // decoded duration
  std::vector<std::string> warnings;  // what decoding could not take whole (stopped early...)
  double processing_s = 0;            // wall time of the attempt that produced the result
  std::vector<OutputRecord> outputs;
  std::vector<SpeakerRecord> speakers;       // diarized runs only
  std::vector<EngineRecord> transcribed_on;  // ok: the engines of its transcript (none: no speech)
  std::string worker;                        // delegated: the worker that processed it (HOST:OUT)
  std::string worker_status;                 // delegated: its outcome there (ok, failed...)
};

// A path left out of the run on purpose (hidden, not media...), recorded for the report.
struct SkippedPath {
  std::string path;
  std::string reason;
};

// Ordered JSON: an auditor reading manifest.json sees "path" before the digests.
nlohmann::ordered_json to_json(const FileDigest& digest);
FileDigest digest_from_json(const nlohmann::ordered_json& j);
nlohmann::ordered_json to_json(const InputRecord& record);
InputRecord input_from_json(const nlohmann::ordered_json& j);  // throws Error on a malformed record

}  // namespace voiceman::manifest
