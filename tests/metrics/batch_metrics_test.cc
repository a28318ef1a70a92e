// metrics.jsonl lines: to_json/batch_from_json round trip, null GPU fields, and reading a
// file that a crash cut short.
#include "voiceman/metrics/batch_metrics.h"

#include <gtest/gtest.h>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"
#include "voiceman/writers/metrics_log.h"

namespace voiceman::metrics {
namespace {

namespace fs = std::filesystem;

BatchMetrics gpu_batch() {
  BatchMetrics b;
  b.batch_id = 7;
  b.run_started_utc = "2026-12-08T00:41:00Z";
  b.batch_size = 16;
  b.files = 5;
  b.audio_s = 431.25;
  b.wall_s = 2.0625;
  b.device = "cuda:0";
  b.engine = 3;
  b.gpu = GpuReading{5120.5, 81559, 87.5, {}};
  b.rss_mb = 812.25;
  b.ram_percent = 41.5;
  b.cpu_percent = 63.0;
  b.files_done = 40;
  b.files_failed = 2;
  finalize_rates(b);
  b.t_end_s = 17.125;
  return b;
}

void expect_same(const BatchMetrics& a, const BatchMetrics& b) {
  EXPECT_EQ(a.batch_id, b.batch_id);
  EXPECT_EQ(a.run_started_utc, b.run_started_utc);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.files, b.files);
  EXPECT_EQ(a.audio_s, b.audio_s);
  EXPECT_EQ(a.wall_s, b.wall_s);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.engine, b.engine);
  ASSERT_EQ(a.gpu.has_value(), b.gpu.has_value());
  if (a.gpu) {
    EXPECT_EQ(a.gpu->used_mb, b.gpu->used_mb);
    EXPECT_EQ(a.gpu->total_mb, b.gpu->total_mb);
    EXPECT_EQ(a.gpu->util_percent, b.gpu->util_percent);
    EXPECT_EQ(a.gpu->unified, b.gpu->unified);
  }
  EXPECT_EQ(a.rss_mb, b.rss_mb);
  EXPECT_EQ(a.ram_percent, b.ram_percent);
  EXPECT_EQ(a.cpu_percent, b.cpu_percent);
  EXPECT_EQ(a.files_done, b.files_done);
  EXPECT_EQ(a.files_failed, b.files_failed);
  EXPECT_EQ(a.files_per_s, b.files_per_s);
  EXPECT_EQ(a.audio_s_per_s, b.audio_s_per_s);
  EXPECT_EQ(a.t_end_s, b.t_end_s);
}

TEST(BatchMetrics, FinalizeRatesDividesByWallTime) {
  BatchMetrics b = gpu_batch();
  EXPECT_DOUBLE_EQ(b.audio_s_per_s, 431.25 / 2.0625);
  EXPECT_DOUBLE_EQ(b.files_per_s, 5 / 2.0625);
  b.wall_s = 0;
  finalize_rates(b);
  EXPECT_EQ(b.audio_s_per_s, 0.0);
  EXPECT_EQ(b.files_per_s, 0.0);
}

TEST(BatchMetrics, JsonRoundTripWithGpu) {
  const BatchMetrics b = gpu_batch();
  const nlohmann::ordered_json j = to_json(b);
  EXPECT_EQ(j["gpu_mem_used_mb"], 5120.5);
  EXPECT_EQ(j["gpu_util_percent"], 87.5);
  EXPECT_EQ(j.begin().key(), "batch_id");  // stable key order for people reading the file
  // Through text, as it goes through metrics.jsonl; an irrational rate must survive too.
  expect_same(batch_from_json(nlohmann::json::parse(j.dump())), b);
}

// GB10: the line says its GPU figures are the system's; other GPUs' lines are unchanged.
TEST(BatchMetrics, AnIntegratedGpusLineSaysItsMemoryIsTheSystems) {
  BatchMetrics b = gpu_batch();
  EXPECT_FALSE(to_json(b).contains("gpu_mem_is_system_memory"));
  b.gpu->unified = true;
  const nlohmann::ordered_json j = to_json(b);
  EXPECT_EQ(j["gpu_mem_is_system_memory"], true);
  const BatchMetrics back = batch_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.gpu.has_value());
  EXPECT_TRUE(back.gpu->unified);
  expect_same(back, b);
}

TEST(BatchMetrics, NoGpuGivesNullGpuFieldsAndRoundTrips) {
  BatchMetrics b = gpu_batch();
  b.gpu.reset();
  b.device = "cpu";
  const nlohmann::ordered_json j = to_json(b);
  for (const char* key : {"gpu_mem_used_mb", "gpu_mem_total_mb", "gpu_util_percent"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(j[key].is_null()) << key;
  }
  const BatchMetrics back = batch_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_FALSE(back.gpu.has_value());
  expect_same(back, b);
}

TEST(BatchMetrics, SetResourcesCopiesTheReading) {
  BatchMetrics b;
  ResourceSample s;
  s.rss_mb = 10;
  s.ram_percent = 20;
  s.cpu_percent = 30;
  s.gpu = GpuReading{1, 2, 3, {}};
  set_resources(b, s);
  EXPECT_EQ(b.rss_mb, 10);
  EXPECT_EQ(b.ram_percent, 20);
  EXPECT_EQ(b.cpu_percent, 30);
  ASSERT_TRUE(b.gpu.has_value());
  EXPECT_EQ(b.gpu->total_mb, 2);
}

TEST(BatchMetrics, MissingOrMistypedKeyNamesTheKey) {
  nlohmann::json j = nlohmann::json::parse(to_json(gpu_batch()).dump());
  j.erase("wall_s");
  try {
    batch_from_json(j);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wall_s"), std::string::npos) << e.what();
  }
  j = nlohmann::json::parse(to_json(gpu_batch()).dump());
  j["files"] = "five";
  EXPECT_THROW(batch_from_json(j), Error);
  EXPECT_THROW(batch_from_json(nlohmann::json::array()), Error);
}

TEST(BatchMetrics, ReadsAFileAndSkipsALastLineCutShort) {
  const fs::path dir = voiceman::testing::scratch_dir("metrics_read");
  std::vector<BatchMetrics> written;
  {
    writers::MetricsLog log(dir / "metrics.jsonl", false);
    for (int i = 0; i < 3; ++i) {
      BatchMetrics b = gpu_batch();
      b.batch_id = i;
      b.audio_s = 100 + i;
      written.push_back(b);
      log.write(to_json(b));
    }
  }
  std::vector<BatchMetrics> read = read_metrics_jsonl(dir / "metrics.jsonl");
  ASSERT_EQ(read.size(), 3u);
  for (size_t i = 0; i < 3; ++i) expect_same(read[i], written[i]);

  // A crash in the middle of the fourth line.
  const std::string full = voiceman::testing::read_bytes(dir / "metrics.jsonl");
  voiceman::testing::write_bytes(dir / "metrics.jsonl", full + "{\"batch_id\": 3, \"batch_si");
  read = read_metrics_jsonl(dir / "metrics.jsonl");
  EXPECT_EQ(read.size(), 3u);

  // A bad line that is not the last one is an error naming the file and line.
  voiceman::testing::write_bytes(dir / "metrics.jsonl", "{\"batch_id\": 3}\n" + full);
  try {
    read_metrics_jsonl(dir / "metrics.jsonl");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_metrics_jsonl(dir / "absent.jsonl"), IoError);
}

}  // namespace
}  // namespace voiceman::metrics
