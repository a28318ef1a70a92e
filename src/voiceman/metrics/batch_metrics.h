#pragma once
// One engine batch as measured by the run: the record behind each line of
// OUT/metrics.jsonl and the report's charts.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "voiceman/metrics/resources.h"

namespace voiceman::metrics {

struct BatchMetrics {
  int64_t batch_id = 0;           // 0, 1, 2... in the order the engine ran them
  std::string run_started_utc;    // the run that ran it (a resumed run appends its lines)
  int batch_size = 0;             // batch size in force (30 s windows), not the windows filled
  int files = 0;                  // distinct files with speech in this batch
  double audio_s = 0;             // audio seconds in this batch's windows
  double wall_s = 0;              // wall time of this batch
  std::string device;             // "cpu", "cuda:0"
  int engine = 0;                 // which of the run's engines (0, 1, ...) ran it
  std::optional<GpuReading> gpu;  // at the end of the batch; none without a GPU
  double rss_mb = 0, ram_percent = 0, cpu_percent = 0;  // latest resource reading
  int files_done = 0, files_failed = 0;                 // run totals so far
  double files_per_s = 0;    // files / wall_s of this batch (see finalize_rates)
  double audio_s_per_s = 0;  // audio_s / wall_s of this batch
  double t_end_s = 0;        // when the batch ended, seconds since the run started
};

// Fills files_per_s and audio_s_per_s from files, audio_s and wall_s (0 when wall_s is 0).
void finalize_rates(BatchMetrics& batch);

// Copies the resource fields (RSS, RAM %, CPU %, GPU) from a sampler reading.
void set_resources(BatchMetrics& batch, const ResourceSample& sample);

// One metrics.jsonl line. Keys: batch_id, run_started_utc, batch_size, files, audio_s, wall_s,
// device, engine, gpu_mem_used_mb, gpu_mem_total_mb, gpu_util_percent (null without a GPU), rss_mb,
// ram_percent, cpu_percent, files_done, files_failed, files_per_s, audio_s_per_s, t_end_s.
// Numbers are not rounded, so sums over the file equal sums over the batches.
nlohmann::ordered_json to_json(const BatchMetrics& batch);

// The inverse of to_json. Throws Error naming the key when one is missing or mistyped.
BatchMetrics batch_from_json(const nlohmann::json& line);

// Reads a metrics.jsonl file. A last line cut short by a crash is skipped (with a
// warning); any other bad line is an Error naming the file and line number.
std::vector<BatchMetrics> read_metrics_jsonl(const std::filesystem::path& file);

}  // namespace voiceman::metrics
