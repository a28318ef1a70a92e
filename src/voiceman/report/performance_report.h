#pragma once
// The end-of-run performance report: OUT/performance_report.json, OUT/report.html and the
// terminal summary, all computed from what the run measured (batches, resource samples,
// per-file outcomes). Pure functions: the writers module writes the files.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "voiceman/metrics/batch_metrics.h"
#include "voiceman/metrics/resources.h"

namespace voiceman::report {

struct FileOutcome {
  std::string path;                   // as shown to the user (relative to the input root)
  std::string status;                 // ok, failed, integrity_violation, resumed
  double audio_s = 0;                 // duration of the recording
  double processing_s = 0;            // wall time spent on it by this run (0 when resumed)
  std::string device;                 // where it was transcribed: "cpu", "cuda:0", "cuda:0,cpu"
  std::string stage;                  // failed ones: where it failed (decode, transcribe, write...)
  std::string error;                  // failed ones: the message
  std::string error_class;            // failed ones: MediaError, IoError...
  std::vector<std::string> warnings;  // ok ones the decode could not take whole
};

struct RunSummaryInput {
  std::string started_utc, finished_utc, model, compute_type, device;
  double wall_s = 0;  // wall time of this run
  std::vector<metrics::BatchMetrics> batches;
  std::vector<metrics::ResourceSample> samples;
  std::vector<FileOutcome> files;
  int not_processed = 0;  // left for a later run by a stop (signal or resource limit)
  std::vector<std::pair<double, int>> batch_size_history;  // (t_s, new size)
  std::vector<std::string> events;                         // "Reducing batch size to 8"
  double gpu_audio_s = 0, cpu_audio_s = 0;                 // audio transcribed on each
};

// "mm:ss", rounded to the nearest second; minutes go past 59 ("125:03"). Negative, NaN or
// infinite durations give "00:00".
std::string format_mm_ss(double seconds);

// The performance_report.json object. Its "definitions" object says what each figure
// means. Strings are copied as given: dump it with error_handler_t::replace.
nlohmann::ordered_json performance_report(const RunSummaryInput& input);

// A self-contained report.html (inline CSS and SVG; no scripts, no network references).
std::string render_html(const RunSummaryInput& input, const nlohmann::ordered_json& report);

// A few aligned lines (no trailing newline) for the CLI to print at the end of a run.
std::string terminal_summary(const nlohmann::ordered_json& report);

}  // namespace voiceman::report
