#pragma once
// What a run tells its caller while it works (progress bars, logs) and when it ends.
// The pipeline never prints; the CLI subscribes and renders.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "voiceman/manifest/records.h"

namespace voiceman::pipeline {

struct RunPlan {
  int inputs = 0;            // recordings found (including ones that failed discovery)
  int skipped = 0;           // hidden, not media, outside symlinks, duplicates
  uint64_t total_bytes = 0;  // size of the recordings to read
};

struct InputEvent {
  const manifest::InputRecord& record;
  bool resumed = false;  // done by an earlier run; outputs and sha256 unchanged
  int completed = 0;     // inputs finished so far (any outcome), this one included
  int total = 0;
  uint64_t bytes_done = 0;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_plan(const RunPlan&) {}
  // The engine starts on these inputs (all hashed and decoded by now).
  virtual void on_transcribe_start(const std::vector<std::string>& relative_paths) {}
  virtual void on_input_done(const InputEvent&) {}
};

struct RunReport {
  int ok = 0;                                    // transcribed, this run or an earlier one
  int resumed = 0;                               // of which were already done by an earlier run
  int failed = 0;                                // recorded in failed_files.json
  int integrity_violations = 0;                  // originals that changed while processed (exit 3)
  int skipped = 0;                               // not inputs: hidden, not media, ...
  std::map<std::string, int> skipped_by_reason;  // "hidden" -> 3, "duplicate" -> 1...
  int pending = 0;                               // not processed because the run was interrupted
  int delegated = 0;                             // processed by other workers of the job
  int with_warnings = 0;  // ok, but the decode could not take the whole file (manifest)
  bool interrupted = false;
  double audio_s = 0;    // audio transcribed by this run
  double elapsed_s = 0;  // wall time of this run
  std::string out_dir;
  std::string manifest_path;
  std::string failed_path;
  std::string transcripts_dir;
  std::string report_path;  // report.html
  std::string summary;      // the performance report's terminal summary
  std::string stop_reason;  // set when a resource cap stopped new work
};

}  // namespace voiceman::pipeline
