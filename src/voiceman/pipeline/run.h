#pragma once
// `voiceman run`: the evidence-safe batch pipeline.
//   discover -> hash -> decode -> transcribe (several recordings per engine call)
//   -> re-hash -> write outputs atomically -> journal + manifest
// A per-file failure never stops the run; transient ones are retried with backoff.
#include <atomic>

#include "voiceman/pipeline/events.h"
#include "voiceman/pipeline/run_options.h"

namespace voiceman::pipeline {

// Runs to completion, or until `stop` becomes true (the current batch is finished first
// and the state stays resumable). Throws ConfigError/ModelError for problems that concern
// the whole run (bad options, OUT inside an input, unloadable model, OUT in use).
RunReport run(const RunOptions& options, RunObserver& observer, const std::atomic<bool>& stop);

}  // namespace voiceman::pipeline
