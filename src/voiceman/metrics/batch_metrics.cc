#include "voiceman/metrics/batch_metrics.h"

#include <fstream>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"

namespace voiceman::metrics {
namespace {

template <typename T>
T get(const nlohmann::json& line, const char* key) {
  const auto it = line.find(key);
  if (it == line.end()) throw Error(std::string("metrics line: missing \"") + key + "\"");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(std::string("metrics line: \"") + key + "\" has the wrong type");
  }
}

}  // namespace

void finalize_rates(BatchMetrics& batch) {
  batch.files_per_s = batch.wall_s > 0 ? batch.files / batch.wall_s : 0.0;
  batch.audio_s_per_s = batch.wall_s > 0 ? batch.audio_s / batch.wall_s : 0.0;
}

void set_resources(BatchMetrics& batch, const ResourceSample& sample) {
  batch.rss_mb = sample.rss_mb;
  batch.ram_percent = sample.ram_percent;
  batch.cpu_percent = sample.cpu_percent;
  batch.gpu = sample.gpu;
}

nlohmann::ordered_json to_json(const BatchMetrics& b) {
  nlohmann::ordered_json j;
  j["batch_id"] = b.batch_id;
  j["run_started_utc"] = b.run_started_utc;
  j["batch_size"] = b.batch_size;
  j["files"] = b.files;
  j["audio_s"] = b.audio_s;
  j["wall_s"] = b.wall_s;
  j["device"] = b.device;
  j["engine"] = b.engine;
  if (b.gpu) {
    j["gpu_mem_used_mb"] = b.gpu->used_mb;
    j["gpu_mem_total_mb"] = b.gpu->total_mb;
    j["gpu_util_percent"] = b.gpu->util_percent;
    if (b.gpu->unified) j["gpu_mem_is_system_memory"] = true;  // an integrated GPU
  } else {
    j["gpu_mem_used_mb"] = nullptr;
    j["gpu_mem_total_mb"] = nullptr;
    j["gpu_util_percent"] = nullptr;
  }
  j["rss_mb"] = b.rss_mb;
  j["ram_percent"] = b.ram_percent;
  j["cpu_percent"] = b.cpu_percent;
  j["files_done"] = b.files_done;
  j["files_failed"] = b.files_failed;
  j["files_per_s"] = b.files_per_s;
  j["audio_s_per_s"] = b.audio_s_per_s;
  j["t_end_s"] = b.t_end_s;
  return j;
}

BatchMetrics batch_from_json(const nlohmann::json& line) {
  if (!line.is_object()) throw Error("metrics line: not a JSON object");
  BatchMetrics b;
  b.batch_id = get<int64_t>(line, "batch_id");
  b.run_started_utc = get<std::string>(line, "run_started_utc");
  b.batch_size = get<int>(line, "batch_size");
  b.files = get<int>(line, "files");
  b.audio_s = get<double>(line, "audio_s");
  b.wall_s = get<double>(line, "wall_s");
  b.device = get<std::string>(line, "device");
  b.engine = get<int>(line, "engine");
  // All three GPU fields are null together when there is no GPU.
  const auto used = line.find("gpu_mem_used_mb");
  if (used != line.end() && !used->is_null()) {
    GpuReading gpu;
    gpu.used_mb = get<double>(line, "gpu_mem_used_mb");
    gpu.total_mb = get<double>(line, "gpu_mem_total_mb");
    gpu.util_percent = get<double>(line, "gpu_util_percent");
    gpu.unified = line.value("gpu_mem_is_system_memory", false);
    b.gpu = gpu;
  }
  b.rss_mb = get<double>(line, "rss_mb");
  b.ram_percent = get<double>(line, "ram_percent");
  b.cpu_percent = get<double>(line, "cpu_percent");
  b.files_done = get<int>(line, "files_done");
  b.files_failed = get<int>(line, "files_failed");
  b.files_per_s = get<double>(line, "files_per_s");
  b.audio_s_per_s = get<double>(line, "audio_s_per_s");
  b.t_end_s = get<double>(line, "t_end_s");
  return b;
}

std::vector<BatchMetrics> read_metrics_jsonl(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(file.string() + ": cannot read");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  // A file that does not end in a newline was cut short while its last line was written.
  in.clear();
  in.seekg(0, std::ios::end);
  const bool ends_cleanly = lines.empty() || [&] {
    in.seekg(-1, std::ios::end);
    char last = 0;
    in.get(last);
    return last == '\n';
  }();

  std::vector<BatchMetrics> batches;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    try {
      batches.push_back(batch_from_json(nlohmann::json::parse(lines[i])));
    } catch (const std::exception& e) {
      if (i + 1 == lines.size() && !ends_cleanly) {
        log::warn(file.string(), ": skipping a last line cut short (", e.what(), ")");
        break;
      }
      throw Error(file.string() + ":" + std::to_string(i + 1) + ": " + e.what());
    }
  }
  return batches;
}

}  // namespace voiceman::metrics
