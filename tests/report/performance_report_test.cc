// performance_report.json: counts, sums consistent with metrics.jsonl, mm:ss, nulls
// without a GPU, and the terminal summary.
#include "voiceman/report/performance_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "report/report_fixture.h"
#include "support/paths.h"
#include "voiceman/writers/metrics_log.h"

namespace voiceman::report {
namespace {

using nlohmann::ordered_json;
using testing::sample_run;

TEST(FormatMmSs, EdgeCases) {
  EXPECT_EQ(format_mm_ss(0), "00:00");
  EXPECT_EQ(format_mm_ss(0.49), "00:00");
  EXPECT_EQ(format_mm_ss(0.5), "00:01");
  EXPECT_EQ(format_mm_ss(59.4), "00:59");
  EXPECT_EQ(format_mm_ss(59.5), "01:00");  // rounds into the next minute
  EXPECT_EQ(format_mm_ss(61), "01:01");
  EXPECT_EQ(format_mm_ss(72.4), "01:12");
  EXPECT_EQ(format_mm_ss(3599.6), "60:00");
  EXPECT_EQ(format_mm_ss(7503), "125:03");  // minutes do not wrap into hours
  EXPECT_EQ(format_mm_ss(-3), "00:00");
  EXPECT_EQ(format_mm_ss(std::nan("")), "00:00");
  EXPECT_EQ(format_mm_ss(INFINITY), "00:00");
}

TEST(PerformanceReport, CountsAndTimes) {
  const RunSummaryInput in = sample_run(false);
  const ordered_json r = performance_report(in);
  EXPECT_EQ(r["total_files"], 24);
  EXPECT_EQ(r["successful"], 22);  // 21 ok + 1 resumed
  EXPECT_EQ(r["failed"], 2);       // a failure and an integrity violation
  EXPECT_EQ(r["resumed"], 1);
  EXPECT_EQ(r["integrity_violations"], 1);
  EXPECT_EQ(r["successful"].get<int>() + r["failed"].get<int>(), r["total_files"].get<int>());
  EXPECT_EQ(r["not_processed"], 0);
  EXPECT_EQ(r["total_time"], "01:12");
  EXPECT_DOUBLE_EQ(r["total_time_minutes"].get<double>(), 1.207);
  EXPECT_DOUBLE_EQ(r["avg_time_per_file_seconds"].get<double>(), std::round(72.4 / 23 * 1e3) / 1e3);

  double audio = 0;
  for (const FileOutcome& f : in.files)
    if (f.status == "ok") audio += f.audio_s;
  EXPECT_NEAR(r["audio_s"].get<double>(), audio, 1e-3);
  EXPECT_NEAR(r["realtime_factor"].get<double>(), audio / 72.4, 1e-3);
  EXPECT_TRUE(r["definitions"].contains("realtime_factor"));
  EXPECT_NE(r["definitions"]["realtime_factor"].get<std::string>().find("audio seconds"),
            std::string::npos);
}

TEST(PerformanceReport, BatchSumsMatchMetricsJsonl) {
  const RunSummaryInput in = sample_run(true);
  // Write the batches the way the run does, then read metrics.jsonl back independently.
  const auto file = voiceman::testing::scratch_dir("report_sums") / "metrics.jsonl";
  {
    writers::MetricsLog log(file, false);
    for (const metrics::BatchMetrics& b : in.batches) log.write(metrics::to_json(b));
  }
  std::ifstream lines(file);
  int count = 0, files = 0;
  double audio = 0, wall = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const nlohmann::json j = nlohmann::json::parse(line);
    files += j["files"].get<int>();
    audio += j["audio_s"].get<double>();
    wall += j["wall_s"].get<double>();
  }
  const ordered_json r = performance_report(in);
  EXPECT_EQ(count, 12);
  EXPECT_EQ(r["batches"]["count"], count);
  EXPECT_EQ(r["batches"]["files"], files);
  EXPECT_EQ(r["batches"]["audio_s"].get<double>(), audio);  // exact: nothing is rounded
  EXPECT_EQ(r["batches"]["wall_s"].get<double>(), wall);
  EXPECT_EQ(r["batches"]["by_device"]["cuda:0"], 12);

  ASSERT_EQ(r["batch_size_history"].size(), 3u);
  EXPECT_EQ(r["batch_size_history"][0]["batch_size"], 20);
  EXPECT_EQ(r["batch_size_history"][1]["batch_size"], 10);
  EXPECT_EQ(r["batch_size_history"][2]["batch_size"], 14);
  EXPECT_EQ(r["events"], ordered_json::array({"Reducing batch size to 10"}));
}

TEST(PerformanceReport, NoGpuGivesNulls) {
  const ordered_json r = performance_report(sample_run(false));
  EXPECT_TRUE(r["gpu_utilization"].is_null());
  EXPECT_TRUE(r["memory"]["gpu"].is_null());
  EXPECT_TRUE(r["gpu_memory_peak_mb"].is_null());
  ASSERT_TRUE(r["cpu_utilization"].is_object());
  EXPECT_EQ(r["cpu_utilization"]["peak"], 95.0);
  EXPECT_EQ(r["device_share"]["gpu_audio_s"], 0.0);
  EXPECT_EQ(r["device_share"]["gpu_percent"], 0.0);
  EXPECT_GT(r["device_share"]["cpu_audio_s"].get<double>(), 0.0);
}

TEST(PerformanceReport, GpuAndMemoryFiguresComeFromTheSamples) {
  const RunSummaryInput in = sample_run(true);
  double rss_peak = 0, rss_sum = 0, util_peak = 0, util_sum = 0, gpu_peak = 0;
  for (const metrics::ResourceSample& s : in.samples) {
    rss_peak = std::max(rss_peak, s.rss_mb);
    rss_sum += s.rss_mb;
    util_peak = std::max(util_peak, s.gpu->util_percent);
    util_sum += s.gpu->util_percent;
    gpu_peak = std::max(gpu_peak, s.gpu->used_mb);
  }
  const double n = static_cast<double>(in.samples.size());
  const ordered_json r = performance_report(in);
  EXPECT_NEAR(r["memory_peak_mb"].get<double>(), rss_peak, 0.005);
  EXPECT_NEAR(r["memory_mean_mb"].get<double>(), rss_sum / n, 0.005);
  EXPECT_EQ(r["memory"]["ram"]["peak_mb"], r["memory_peak_mb"]);
  EXPECT_NEAR(r["gpu_utilization"]["peak"].get<double>(), util_peak, 0.005);
  EXPECT_NEAR(r["gpu_utilization"]["mean"].get<double>(), util_sum / n, 0.005);
  EXPECT_NEAR(r["memory"]["gpu"]["peak_mb"].get<double>(), gpu_peak, 0.005);
  EXPECT_EQ(r["memory"]["gpu"]["total_mb"], 16384.0);
  EXPECT_EQ(r["device_share"]["gpu_percent"], 100.0);
}

TEST(PerformanceReport, AnIntegratedGpusMemoryIsMarkedAsTheSystems) {
  RunSummaryInput in = sample_run(true);
  ordered_json r = performance_report(in);
  EXPECT_FALSE(r["memory"]["gpu"].contains("system_memory"));
  EXPECT_EQ(terminal_summary(r).find("system memory"), std::string::npos);
  for (metrics::ResourceSample& s : in.samples) s.gpu->unified = true;
  r = performance_report(in);
  EXPECT_EQ(r["memory"]["gpu"]["system_memory"], true);
  const std::string text = terminal_summary(r);
  EXPECT_NE(text.find(" MB (system memory, shared with the host)"), std::string::npos) << text;
  // From the batch lines too.
  in.samples.clear();
  for (metrics::BatchMetrics& b : in.batches) b.gpu->unified = true;
  EXPECT_EQ(performance_report(in)["memory"]["gpu"]["system_memory"], true);
}

TEST(PerformanceReport, WithoutSamplesUsesTheBatchLines) {
  RunSummaryInput in = sample_run(true);
  in.samples.clear();
  const ordered_json r = performance_report(in);
  EXPECT_EQ(r["memory_peak_mb"], 500 + 10.0 * 11);  // last batch's RSS
  EXPECT_EQ(r["cpu_utilization"]["peak"], 88.0);
  EXPECT_EQ(r["gpu_utilization"]["peak"], 76.0);

  in.batches.clear();
  const ordered_json empty = performance_report(in);
  EXPECT_TRUE(empty["cpu_utilization"].is_null());
  EXPECT_TRUE(empty["gpu_utilization"].is_null());
  EXPECT_EQ(empty["batches"]["count"], 0);
}

TEST(PerformanceReport, FailedFilesAndPerFileList) {
  const ordered_json r = performance_report(sample_run(false));
  ASSERT_EQ(r["failed_files"].size(), 2u);
  const ordered_json& f = r["failed_files"][0];
  EXPECT_EQ(f["path"], testing::kHostileName);
  EXPECT_EQ(f["stage"], "decode");
  EXPECT_EQ(f["error_class"], "MediaError");
  EXPECT_NE(f["error"].get<std::string>().find("invalid data"), std::string::npos);
  EXPECT_EQ(r["failed_files"][1]["status"], "integrity_violation");
  ASSERT_EQ(r["files"].size(), 24u);
  EXPECT_EQ(r["files"][3]["status"], "resumed");
  EXPECT_FALSE(r["files"][0].contains("error"));
  EXPECT_EQ(r["files"][5]["error_class"], "MediaError");
}

TEST(PerformanceReport, EmptyRunIsWellFormed) {
  const ordered_json r = performance_report(RunSummaryInput{});
  EXPECT_EQ(r["total_files"], 0);
  EXPECT_EQ(r["total_time"], "00:00");
  EXPECT_EQ(r["realtime_factor"], 0.0);
  EXPECT_EQ(r["avg_time_per_file_seconds"], 0.0);
  EXPECT_TRUE(r["failed_files"].empty());
  EXPECT_FALSE(terminal_summary(r).empty());
}

TEST(TerminalSummary, AlignedLinesWithTheKeyFigures) {
  const std::string text = terminal_summary(performance_report(sample_run(true)));
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 6u);
  EXPECT_NE(text.back(), '\n');
  for (const std::string& line : lines) {
    ASSERT_GT(line.size(), 10u) << line;
    EXPECT_EQ(line[9], ' ') << line;
    EXPECT_NE(line[10], ' ') << "values do not start at column 11: " << line;
  }
  EXPECT_EQ(lines[0], "Files     24 total, 22 done (1 resumed), 2 failed");
  EXPECT_EQ(lines[1].rfind("Time      01:12 (1.21 min)", 0), 0u) << lines[1];
  EXPECT_NE(text.find("GPU       mean"), std::string::npos) << text;
  EXPECT_NE(text.find("Batches   12 batches, size 20 -> 10 -> 14"), std::string::npos) << text;
  // Files a stop left for the next run count in the total and are named.
  RunSummaryInput stopped = sample_run(true);
  stopped.not_processed = 6;
  const ordered_json stopped_report = performance_report(stopped);
  EXPECT_EQ(stopped_report["total_files"], 30);
  EXPECT_EQ(stopped_report["not_processed"], 6);
  const std::string stopped_summary = terminal_summary(stopped_report);
  EXPECT_EQ(stopped_summary.substr(0, stopped_summary.find('\n')),
            "Files     30 total, 22 done (1 resumed), 2 failed, 6 not processed");
  EXPECT_NE(render_html(stopped, stopped_report).find("6 not processed"), std::string::npos);
  RunSummaryInput many = sample_run(false);
  for (int i = 0; i < 10; ++i) many.batch_size_history.emplace_back(60 + i, 1 + i);
  EXPECT_NE(terminal_summary(performance_report(many)).find("size 8 -> ... -> 10 (12 changes)"),
            std::string::npos);
  const std::string cpu_only = terminal_summary(performance_report(sample_run(false)));
  EXPECT_NE(cpu_only.find("GPU       not used"), std::string::npos) << cpu_only;
}

}  // namespace
}  // namespace voiceman::report
