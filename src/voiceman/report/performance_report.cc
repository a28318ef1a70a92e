#include "voiceman/report/performance_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "voiceman/core/log.h"
#include "voiceman/report/svg.h"

namespace voiceman::report {
namespace {

using nlohmann::ordered_json;

// Derived figures are rounded for reading; the batch sums are not (they must equal the
// sums over metrics.jsonl).
double r(double v, int decimals = 2) {
  if (!std::isfinite(v)) return 0;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

struct Stats {
  int n = 0;
  double sum = 0, peak = 0;
  void add(double v) {
    if (!std::isfinite(v)) return;
    peak = n == 0 ? v : std::max(peak, v);
    sum += v;
    ++n;
  }
  double mean() const { return n > 0 ? sum / n : 0; }
};

ordered_json mean_peak(const Stats& s, const char* mean_key, const char* peak_key) {
  if (s.n == 0) return nullptr;
  ordered_json j;
  j[mean_key] = r(s.mean());
  j[peak_key] = r(s.peak);
  return j;
}

}  // namespace

std::string format_mm_ss(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "00:00";
  const long long total = std::llround(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", total / 60, total % 60);
  return buf;
}

ordered_json performance_report(const RunSummaryInput& in) {
  int ok = 0, resumed = 0, failed = 0, integrity = 0;
  double audio_done_s = 0;
  Stats processing;
  for (const FileOutcome& f : in.files) {
    if (f.status == "ok") {
      ++ok;
      audio_done_s += f.audio_s;
    } else if (f.status == "resumed") {
      ++resumed;
    } else if (f.status == "integrity_violation") {
      ++integrity;
    } else {
      if (f.status != "failed")
        log::warn("performance report: ", f.path, ": unknown status \"", f.status,
                  "\", counted as failed");
      ++failed;
    }
    if (f.status != "resumed") processing.add(f.processing_s);
  }
  const int processed = static_cast<int>(in.files.size()) - resumed;

  // Resource figures come from the sampler's series; without one, from the batch lines.
  Stats cpu, gpu_util, rss, ram_pct, gpu_mem;
  double gpu_total_mb = 0;
  bool gpu_unified = false;
  const auto add_gpu = [&](const metrics::GpuReading& g) {
    gpu_util.add(g.util_percent);
    gpu_mem.add(g.used_mb);
    gpu_total_mb = std::max(gpu_total_mb, g.total_mb);
    gpu_unified = gpu_unified || g.unified;
  };
  if (!in.samples.empty()) {
    for (const metrics::ResourceSample& s : in.samples) {
      cpu.add(s.cpu_percent);
      rss.add(s.rss_mb);
      ram_pct.add(s.ram_percent);
      if (s.gpu) add_gpu(*s.gpu);
    }
  } else {
    for (const metrics::BatchMetrics& b : in.batches) {
      cpu.add(b.cpu_percent);
      rss.add(b.rss_mb);
      ram_pct.add(b.ram_percent);
      if (b.gpu) add_gpu(*b.gpu);
    }
  }

  ordered_json j;
  j["schema"] = "voiceman.performance_report/1";
  j["started_utc"] = in.started_utc;
  j["finished_utc"] = in.finished_utc;
  j["model"] = in.model;
  j["compute_type"] = in.compute_type;
  j["device"] = in.device;
  j["total_files"] = static_cast<int>(in.files.size()) + in.not_processed;
  j["successful"] = ok + resumed;
  j["failed"] = failed + integrity;
  j["not_processed"] = in.not_processed;
  j["decoded_in_part"] = static_cast<int>(std::count_if(
      in.files.begin(), in.files.end(), [](const FileOutcome& f) { return !f.warnings.empty(); }));
  j["resumed"] = resumed;
  j["integrity_violations"] = integrity;
  j["processed_this_run"] = processed;
  j["total_time"] = format_mm_ss(in.wall_s);
  j["total_time_minutes"] = r(in.wall_s / 60.0, 3);
  j["wall_s"] = r(in.wall_s, 3);
  j["audio_s"] = r(audio_done_s, 3);
  j["avg_time_per_file_seconds"] = processed > 0 ? r(in.wall_s / processed, 3) : 0.0;
  j["avg_processing_s_per_file"] = r(processing.mean(), 3);
  j["realtime_factor"] = in.wall_s > 0 ? r(audio_done_s / in.wall_s, 3) : 0.0;
  j["files_per_second"] = in.wall_s > 0 ? r(processed / in.wall_s, 3) : 0.0;
  j["gpu_utilization"] = mean_peak(gpu_util, "mean", "peak");
  j["cpu_utilization"] = mean_peak(cpu, "mean", "peak");

  ordered_json ram = mean_peak(rss, "mean_mb", "peak_mb");
  if (!ram.is_null()) ram["system_percent_peak"] = r(ram_pct.peak);
  ordered_json gpu_memory = mean_peak(gpu_mem, "mean_mb", "peak_mb");
  if (!gpu_memory.is_null()) gpu_memory["total_mb"] = r(gpu_total_mb);
  // An integrated GPU (GB10): its figures are the system's, the host's use included.
  if (!gpu_memory.is_null() && gpu_unified) gpu_memory["system_memory"] = true;
  j["memory"] = {{"ram", ram}, {"gpu", gpu_memory}};
  j["memory_peak_mb"] = r(rss.peak);
  j["memory_mean_mb"] = r(rss.mean());
  j["gpu_memory_peak_mb"] = gpu_mem.n > 0 ? ordered_json(r(gpu_mem.peak)) : ordered_json();
  j["gpu_memory_mean_mb"] = gpu_mem.n > 0 ? ordered_json(r(gpu_mem.mean())) : ordered_json();

  const double device_audio = in.gpu_audio_s + in.cpu_audio_s;
  j["device_share"] = {
      {"gpu_audio_s", r(in.gpu_audio_s, 3)},
      {"cpu_audio_s", r(in.cpu_audio_s, 3)},
      {"gpu_percent", device_audio > 0 ? r(100.0 * in.gpu_audio_s / device_audio) : 0.0}};

  ordered_json history = ordered_json::array();
  for (const auto& [t, size] : in.batch_size_history)
    history.push_back({{"t_s", r(t, 3)}, {"batch_size", size}});
  j["batch_size_history"] = history;

  ordered_json batches;
  int batch_files = 0;
  double batch_audio = 0, batch_wall = 0, size_sum = 0;
  std::map<std::string, int> by_device;
  for (const metrics::BatchMetrics& b : in.batches) {
    batch_files += b.files;
    batch_audio += b.audio_s;
    batch_wall += b.wall_s;
    size_sum += b.batch_size;
    ++by_device[b.device];
  }
  batches["count"] = in.batches.size();
  batches["files"] = batch_files;
  batches["audio_s"] = batch_audio;
  batches["wall_s"] = batch_wall;
  batches["mean_batch_size"] = in.batches.empty() ? 0.0 : r(size_sum / double(in.batches.size()));
  batches["audio_s_per_s"] = batch_wall > 0 ? r(batch_audio / batch_wall, 3) : 0.0;
  batches["by_device"] = by_device;
  j["batches"] = batches;

  j["events"] = in.events;

  ordered_json failed_files = ordered_json::array();
  ordered_json files = ordered_json::array();
  for (const FileOutcome& f : in.files) {
    ordered_json e;
    e["path"] = f.path;
    e["status"] = f.status;
    e["audio_s"] = r(f.audio_s, 3);
    e["processing_s"] = r(f.processing_s, 3);
    e["device"] = f.device;
    if (!f.warnings.empty()) e["warnings"] = f.warnings;
    if (f.status != "ok" && f.status != "resumed") {
      e["stage"] = f.stage;
      e["error_class"] = f.error_class;
      e["error"] = f.error;
      failed_files.push_back({{"path", f.path},
                              {"status", f.status},
                              {"stage", f.stage},
                              {"error_class", f.error_class},
                              {"error", f.error}});
    }
    files.push_back(std::move(e));
  }
  j["failed_files"] = failed_files;
  j["files"] = files;

  j["definitions"] = {
      {"successful", "files transcribed, by this run or (resumed) an earlier one"},
      {"failed", "files that failed, integrity violations included"},
      {"not_processed", "files a stop left for the next run (counted in total_files)"},
      {"decoded_in_part",
       "successful files whose decode stopped short of the whole recording (see their "
       "warnings)"},
      {"total_time", "wall time of this run, mm:ss"},
      {"avg_time_per_file_seconds",
       "wall time of this run / files processed by this run (resumed ones excluded)"},
      {"avg_processing_s_per_file", "mean per-file processing time of this run"},
      {"realtime_factor",
       "audio seconds transcribed per wall-clock second (higher is faster): audio_s / wall_s"},
      {"audio_s", "total duration of the recordings transcribed by this run"},
      {"cpu_utilization", "this process, % of all cores, over the resource samples"},
      {"gpu_utilization", "device utilisation %, over the resource samples; null without a GPU"},
      {"memory", "ram: process resident set (RSS) in MiB; gpu: device memory in use in MiB"},
      {"device_share", "audio seconds transcribed on the GPU and on the CPU"},
      {"batches", "sums over the batch lines of metrics.jsonl (speech audio in 30 s windows)"},
      {"batch_size_history", "(time since the run started, new batch size) at each change"}};
  return j;
}

std::string terminal_summary(const ordered_json& rep) {
  const auto number = [&](const ordered_json& v, int decimals) {
    return v.is_number() ? svg::num(v.get<double>(), decimals) : std::string("-");
  };
  const auto line = [](std::string_view key, const std::string& value) {
    std::string s(key);
    s.resize(std::max<size_t>(s.size(), 10), ' ');
    return s + value + "\n";
  };
  const auto util = [&](const char* key) -> std::string {
    const ordered_json& u = rep.value(key, ordered_json());
    if (!u.is_object()) return "not used";
    return "mean " + number(u.value("mean", ordered_json()), 0) + "%, peak " +
           number(u.value("peak", ordered_json()), 0) + "%";
  };
  std::string out;
  std::string files = std::to_string(rep.value("total_files", 0)) + " total, " +
                      std::to_string(rep.value("successful", 0)) + " done";
  if (rep.value("resumed", 0) > 0)
    files += " (" + std::to_string(rep.value("resumed", 0)) + " resumed)";
  files += ", " + std::to_string(rep.value("failed", 0)) + " failed";
  if (rep.value("not_processed", 0) > 0)
    files += ", " + std::to_string(rep.value("not_processed", 0)) + " not processed";
  if (rep.value("decoded_in_part", 0) > 0)
    files += ", " + std::to_string(rep.value("decoded_in_part", 0)) + " decoded in part";
  out += line("Files", files);
  out += line("Time", rep.value("total_time", std::string("00:00")) + " (" +
                          number(rep.value("total_time_minutes", ordered_json()), 2) + " min), " +
                          number(rep.value("avg_time_per_file_seconds", ordered_json()), 2) +
                          " s per file");
  out += line("Speed", number(rep.value("realtime_factor", ordered_json()), 1) +
                           " audio-s per second (" +
                           number(rep.value("audio_s", ordered_json()), 0) + " s of audio)");
  out += line("CPU", util("cpu_utilization"));
  std::string gpu = util("gpu_utilization");
  const ordered_json& memory = rep.value("memory", ordered_json::object());
  const ordered_json& gpu_mem = memory.value("gpu", ordered_json());
  if (gpu_mem.is_object())
    gpu += ", memory peak " + number(gpu_mem.value("peak_mb", ordered_json()), 0) + " MB" +
           (gpu_mem.value("system_memory", false) ? " (system memory, shared with the host)" : "");
  out += line("GPU", gpu);
  out += line("Memory", "RSS peak " + number(rep.value("memory_peak_mb", ordered_json()), 0) +
                            " MB, mean " + number(rep.value("memory_mean_mb", ordered_json()), 0) +
                            " MB");
  const ordered_json& share = rep.value("device_share", ordered_json::object());
  if (share.value("gpu_audio_s", 0.0) > 0)
    out += line("Devices",
                number(share.value("gpu_percent", ordered_json()), 0) + "% of audio on the GPU");
  const ordered_json& batches = rep.value("batches", ordered_json::object());
  std::string batch_line = std::to_string(batches.value("count", 0)) + " batches";
  const ordered_json& history = rep.value("batch_size_history", ordered_json::array());
  if (!history.empty()) {
    // The whole sequence when short; first, last and the count when the size moved often.
    const auto size_at = [&](size_t i) {
      return std::to_string(history[i].value("batch_size", 0));
    };
    batch_line += ", size " + size_at(0);
    if (history.size() <= 6) {
      for (size_t i = 1; i < history.size(); ++i) batch_line += " -> " + size_at(i);
    } else {
      batch_line += " -> ... -> " + size_at(history.size() - 1) + " (" +
                    std::to_string(history.size() - 1) + " changes)";
    }
  }
  out += line("Batches", batch_line);
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace voiceman::report
