// report.html: one self-contained page (inline CSS and SVG, no script, no URL) built from
// the run's measurements and the performance_report.json object.
#include <algorithm>
#include <cmath>

#include "voiceman/report/performance_report.h"
#include "voiceman/report/svg.h"

namespace voiceman::report {
namespace {

using nlohmann::ordered_json;
using svg::escape;
using svg::num;

constexpr size_t kMaxFileBars = 40;  // slowest files drawn; thousands would be unreadable
constexpr const char* kBlue = "#2f6db5";
constexpr const char* kOrange = "#d9822b";
constexpr const char* kRed = "#c23b3b";
constexpr const char* kGreen = "#3a8f4f";

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK KR",sans-serif;
margin:24px auto;max-width:1180px;color:#1d232b;background:#fff;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
.meta{color:#5a6573;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #dde3ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f6f9}
table.summary td:first-child{color:#5a6573;white-space:nowrap}
table.failures td.error{max-width:560px;word-break:break-word}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
.chart{background:#fbfcfd;border:1px solid #dde3ea;border-radius:4px;max-width:100%;height:auto}
.chart text{font-size:11px;fill:#36404c}
.chart .chart-title{font-size:13px;font-weight:600;fill:#1d232b}
.chart .grid{stroke:#e3e8ee;stroke-width:1}
.chart .axis,.chart .tickmark{stroke:#8a94a0;stroke-width:1}
.chart .no-data{font-size:14px;fill:#8a94a0}
.caption{color:#5a6573;font-size:12px;margin:4px 0 0}
.ok{color:#3a8f4f}.bad{color:#c23b3b}
)";

std::string figure(const ordered_json& v, int decimals, std::string_view unit = "") {
  if (!v.is_number()) return "&ndash;";
  return num(v.get<double>(), decimals) + std::string(unit);
}

std::string row(std::string_view key, const std::string& value_html) {
  return "<tr><td>" + escape(key) + "</td><td>" + value_html + "</td></tr>";
}

std::string mean_peak(const ordered_json& v, const char* mean, const char* peak,
                      std::string_view unit, const char* missing = "no data") {
  if (!v.is_object()) return missing;
  return "mean " + figure(v.value(mean, ordered_json()), 1, unit) + ", peak " +
         figure(v.value(peak, ordered_json()), 1, unit);
}

// Long runs read better in minutes.
// The three time charts share one x range, so they line up.
struct TimeAxis {
  double scale = 1;
  std::string label = "time since start (s)";
  double end = 0;  // end of the run, in axis units

  svg::ChartOptions chart(std::string id, std::string title, std::string y_label) const {
    svg::ChartOptions o{std::move(id), std::move(title), label, std::move(y_label)};
    if (end > 0) o.x_min = 0, o.x_max = end;
    return o;
  }
};

TimeAxis time_axis(double end_s) {
  TimeAxis ta;
  if (end_s > 900) ta = {1.0 / 60, "time since start (min)"};
  ta.end = end_s * ta.scale;
  return ta;
}

std::string summary_table(const ordered_json& rep) {
  std::string s = "<table class=\"summary\" id=\"summary\">";
  s +=
      row("Files", std::to_string(rep.value("total_files", 0)) + " total, <span class=\"ok\">" +
                       std::to_string(rep.value("successful", 0)) + " successful</span> (" +
                       std::to_string(rep.value("resumed", 0)) + " resumed), <span class=\"bad\">" +
                       std::to_string(rep.value("failed", 0)) + " failed</span>" +
                       (rep.value("not_processed", 0) > 0
                            ? ", " + std::to_string(rep.value("not_processed", 0)) +
                                  " not processed (stopped early)"
                            : std::string()));
  s += row("Total time", escape(rep.value("total_time", std::string())) + " (" +
                             figure(rep.value("total_time_minutes", ordered_json()), 2) + " min)");
  s += row("Average time per file",
           figure(rep.value("avg_time_per_file_seconds", ordered_json()), 2, " s"));
  s += row("Realtime factor", figure(rep.value("realtime_factor", ordered_json()), 2) +
                                  " audio seconds per wall second (" +
                                  figure(rep.value("audio_s", ordered_json()), 1, " s") +
                                  " of audio)");
  s += row("CPU utilisation",
           mean_peak(rep.value("cpu_utilization", ordered_json()), "mean", "peak", "%"));
  s += row("GPU utilisation", mean_peak(rep.value("gpu_utilization", ordered_json()), "mean",
                                        "peak", "%", "not used"));
  const ordered_json memory = rep.value("memory", ordered_json::object());
  s += row("RAM (process RSS)",
           mean_peak(memory.value("ram", ordered_json()), "mean_mb", "peak_mb", " MB"));
  const ordered_json gpu_memory = memory.value("gpu", ordered_json());
  s += row(gpu_memory.is_object() && gpu_memory.value("system_memory", false)
               ? "GPU memory (system memory, unified)"
               : "GPU memory",
           mean_peak(gpu_memory, "mean_mb", "peak_mb", " MB", "not used"));
  const ordered_json share = rep.value("device_share", ordered_json::object());
  s += row("Audio on GPU / CPU",
           figure(share.value("gpu_audio_s", ordered_json()), 1, " s") + " / " +
               figure(share.value("cpu_audio_s", ordered_json()), 1, " s") + " (" +
               figure(share.value("gpu_percent", ordered_json()), 1) + "% GPU)");
  const ordered_json batches = rep.value("batches", ordered_json::object());
  s += row("Batches", std::to_string(batches.value("count", 0)) + ", mean size " +
                          figure(batches.value("mean_batch_size", ordered_json()), 1) + ", " +
                          figure(batches.value("audio_s_per_s", ordered_json()), 2) +
                          " audio-s/s inside batches");
  return s + "</table>";
}

std::string throughput_chart(const RunSummaryInput& in, const TimeAxis& ta) {
  svg::Series s{"audio-s/s per batch", kBlue, {}, false, true};
  for (const metrics::BatchMetrics& b : in.batches)
    s.points.emplace_back(b.t_end_s * ta.scale, b.audio_s_per_s);
  return svg::line_chart(ta.chart("chart-throughput",
                                  "Throughput per batch (audio seconds per second)", "audio-s / s"),
                         {s});
}

std::string memory_chart(const RunSummaryInput& in, const TimeAxis& ta) {
  svg::Series ram{"RAM (process RSS) MB", kBlue, {}, false, false};
  svg::Series gpu{"GPU memory used MB", kOrange, {}, false, false};
  bool unified = false;
  if (!in.samples.empty()) {
    for (const metrics::ResourceSample& s : in.samples) {
      ram.points.emplace_back(s.t_s * ta.scale, s.rss_mb);
      if (s.gpu) gpu.points.emplace_back(s.t_s * ta.scale, s.gpu->used_mb);
      unified = unified || (s.gpu && s.gpu->unified);
    }
  } else {
    for (const metrics::BatchMetrics& b : in.batches) {
      ram.points.emplace_back(b.t_end_s * ta.scale, b.rss_mb);
      if (b.gpu) gpu.points.emplace_back(b.t_end_s * ta.scale, b.gpu->used_mb);
      unified = unified || (b.gpu && b.gpu->unified);
    }
  }
  // An integrated GPU's figure is the whole system's use, this process's RSS included.
  if (unified) gpu.name = "GPU memory used MB (system memory, unified)";
  std::vector<svg::Series> series{ram};
  if (!gpu.points.empty()) series.push_back(gpu);
  return svg::line_chart(ta.chart("chart-memory", "Memory over time", "MB"), series);
}

std::string batch_size_chart(const RunSummaryInput& in, const TimeAxis& ta) {
  svg::Series s{"batch size", kGreen, {}, true, true};
  if (!in.batch_size_history.empty()) {
    for (const auto& [t, size] : in.batch_size_history) s.points.emplace_back(t * ta.scale, size);
  } else {
    for (const metrics::BatchMetrics& b : in.batches)
      s.points.emplace_back(b.t_end_s * ta.scale, b.batch_size);
  }
  // Hold the last size to the end of the run.
  if (!s.points.empty() && ta.end > s.points.back().first)
    s.points.emplace_back(ta.end, s.points.back().second);
  return svg::line_chart(
      ta.chart("chart-batch-size", "Batch size over time (30 s windows)", "batch size"), {s});
}

std::string per_file_chart(const RunSummaryInput& in) {
  std::vector<const FileOutcome*> files;
  for (const FileOutcome& f : in.files)
    if (f.status != "resumed") files.push_back(&f);
  std::stable_sort(files.begin(), files.end(), [](const FileOutcome* a, const FileOutcome* b) {
    return a->processing_s > b->processing_s;
  });
  std::vector<svg::Bar> bars;
  for (size_t i = 0; i < files.size() && i < kMaxFileBars; ++i) {
    const FileOutcome& f = *files[i];
    const bool ok = f.status == "ok";
    bars.push_back({f.path, f.processing_s, ok ? kBlue : kRed,
                    f.path + ": " + num(f.processing_s, 2) + " s, " + num(f.audio_s, 1) +
                        " s of audio, " + f.status});
  }
  const std::string title = files.size() > kMaxFileBars
                                ? "Per-file processing time (" + std::to_string(kMaxFileBars) +
                                      " slowest of " + std::to_string(files.size()) + ")"
                                : "Per-file processing time";
  std::string s = svg::bar_chart({"chart-files", title, "seconds", ""}, bars, " s");
  if (!files.empty()) {
    // files is already slowest first: the front is the max, (n - 1) / 2 the upper median.
    double sum = 0;
    for (const FileOutcome* f : files) sum += f->processing_s;
    s += "<p class=\"caption\">" + std::to_string(files.size()) +
         " files processed by this run; median " +
         num(files[(files.size() - 1) / 2]->processing_s, 2) + " s, mean " +
         num(sum / double(files.size()), 2) + " s, max " + num(files.front()->processing_s, 2) +
         " s. Red: failed.</p>";
  }
  return s;
}

std::string failures_table(const RunSummaryInput& in) {
  std::string s =
      "<table class=\"failures\" id=\"failures-table\"><thead><tr><th>File</th><th>Status</th>"
      "<th>Stage</th><th>Error class</th><th>Error</th></tr></thead><tbody>";
  int n = 0;
  for (const FileOutcome& f : in.files) {
    const bool done = f.status == "ok" || f.status == "resumed";
    if (done && f.warnings.empty()) continue;
    ++n;
    if (done) {  // transcribed, but not the whole recording: listed beside the failures
      std::string all;
      for (const std::string& w : f.warnings) all += (all.empty() ? "" : "; ") + w;
      s += "<tr class=\"partial\"><td>" + escape(f.path) + "</td><td>" + escape(f.status) +
           ", decoded in part</td><td>decode</td><td></td><td class=\"error\">" + escape(all) +
           "</td></tr>";
      continue;
    }
    s += "<tr class=\"failure\"><td>" + escape(f.path) + "</td><td>" + escape(f.status) +
         "</td><td>" + escape(f.stage) + "</td><td>" + escape(f.error_class) +
         "</td><td class=\"error\">" + escape(f.error) + "</td></tr>";
  }
  if (n == 0) s += "<tr><td colspan=\"5\">No failures.</td></tr>";
  return s + "</tbody></table>";
}

}  // namespace

std::string render_html(const RunSummaryInput& in, const ordered_json& rep) {
  double end_s = in.wall_s;
  for (const metrics::BatchMetrics& b : in.batches) end_s = std::max(end_s, b.t_end_s);
  for (const metrics::ResourceSample& s : in.samples) end_s = std::max(end_s, s.t_s);
  const TimeAxis ta = time_axis(end_s);

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>voiceman run report</title><style>";
  h += kStyle;
  h += "</style></head><body>\n<h1>voiceman run report</h1>\n<p class=\"meta\">";
  h += "Model " + escape(in.model) + " &middot; " + escape(in.compute_type) + " &middot; device " +
       escape(in.device) + " &middot; " + escape(in.started_utc) + " &rarr; " +
       escape(in.finished_utc) + "</p>\n";
  h += "<section><h2>Summary</h2>" + summary_table(rep) + "</section>\n";
  h += "<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">";
  h += "<div>" + throughput_chart(in, ta) + "</div>";
  h += "<div>" + memory_chart(in, ta) + "</div>";
  h += "<div>" + batch_size_chart(in, ta) + "</div>";
  h += "</div><div>" + per_file_chart(in) + "</div></section>\n";
  const int partial = rep.value("decoded_in_part", 0);
  h += "<section id=\"failures\"><h2>Failures (" + std::to_string(rep.value("failed", 0)) + ")" +
       (partial > 0 ? " and files decoded in part (" + std::to_string(partial) + ")" : "") +
       "</h2>" + failures_table(in) + "</section>\n";
  h += "<section id=\"events\"><h2>Events</h2>";
  if (in.events.empty()) {
    h += "<p>None.</p>";
  } else {
    h += "<ul>";
    for (const std::string& e : in.events) h += "<li>" + escape(e) + "</li>";
    h += "</ul>";
  }
  h += "</section>\n<section id=\"definitions\"><h2>Definitions</h2><table>";
  const ordered_json definitions = rep.value("definitions", ordered_json::object());
  for (const auto& [key, text] : definitions.items())
    h += row(key, escape(text.is_string() ? text.get<std::string>() : text.dump()));
  h += "</table></section>\n</body></html>\n";
  return h;
}

}  // namespace voiceman::report
