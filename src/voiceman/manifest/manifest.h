#pragma once
// OUT/manifest.json: the custody record of a run (versioned schema, written atomically),
// and OUT/failed_files.json: the inputs that did not make it, with the reason.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "voiceman/manifest/records.h"

namespace voiceman::manifest {

inline constexpr const char* kSchemaName = "voiceman.manifest";
inline constexpr int kSchemaVersion = 1;
inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kFailedFile = "failed_files.json";
inline constexpr const char* kTranscriptsDir = "transcripts";

// Which model produced the transcripts: folder name plus digests of the files that
// define its behaviour.
struct ModelIdentity {
  std::string name;                           // folder name, e.g. "tiny.en"
  std::string path;                           // absolute folder path
  std::map<std::string, std::string> sha256;  // file name -> sha256 (model.bin, config.json...)
};

struct HostInfo {
  std::string hostname;
  std::string os;       // uname sysname + release
  std::string machine;  // uname machine
  int cpus = 0;
};

struct Manifest {
  std::string tool_version;
  std::string tool_commit;
  ModelIdentity model;
  nlohmann::ordered_json options;  // every option in effect, as the pipeline names them
  HostInfo host;
  std::string out_dir;
  std::string started_utc;
  std::string finished_utc;        // empty while running
  std::string status = "running";  // running, complete, interrupted, aborted
  std::string error;               // why an aborted run stopped; empty otherwise
  std::vector<InputRecord> inputs;
  std::vector<SkippedPath> skipped;
};

// Hashes model.bin and config.json (required) and tokenizer.json/vocabulary.* (when
// present). Throws ModelError if a required file is missing.
ModelIdentity identify_model(const std::filesystem::path& dir);
HostInfo current_host();
// How a shared job (run --redis/--job) names a worker: HOST:OUT.
std::string worker_name(const HostInfo& host, const std::string& out_dir);
std::string utc_now();  // "2024-05-01T12:34:56Z"

nlohmann::ordered_json to_json(const Manifest& manifest);
Manifest manifest_from_json(const nlohmann::ordered_json& j);  // throws IntegrityError if unusable

void write_manifest(const std::filesystem::path& out_dir, const Manifest& manifest);
// Throws IntegrityError if the file is missing, malformed or of an unknown schema.
Manifest read_manifest(const std::filesystem::path& out_dir);

// failed_files.json: a JSON list of {path, sha256?, stage, error, error_class, attempts}
// for every failed input, in input order.
nlohmann::ordered_json failed_files_json(const std::vector<InputRecord>& inputs);
void write_failed_files(const std::filesystem::path& out_dir,
                        const std::vector<InputRecord>& inputs);

}  // namespace voiceman::manifest
