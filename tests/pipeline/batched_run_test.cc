// Batched mode end to end on real recordings: chunks of several files share engine
// batches, yet every transcript equals the one the file gets alone; the engine memory
// cap forces out-of-memory and the batch halves until it fits; the report agrees with
// metrics.jsonl.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "run_fixture.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/manifest/manifest.h"
#include "voiceman/metrics/batch_metrics.h"
#include "voiceman/pipeline/run_setup.h"

namespace voiceman::pipeline::test {
namespace {

using voiceman::testing::ffmpeg_convert;
using voiceman::testing::run_shell;
using voiceman::testing::shared_data_dir;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class BatchedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine_available()) GTEST_SKIP() << "needs models (tiny.en, Silero VAD) and ffmpeg";
    root_ = voiceman::testing::scratch_dir("batched_run");
    in_ = root_ / "in";
    fs::create_directories(in_);
    const fs::path data = shared_data_dir();
    // A 60 s call (two recordings joined: several chunks), 30 s meeting audio, short clips.
    const std::string joined = (in_ / "call-60s.m4a").string();
    ASSERT_EQ(
        run_shell("ffmpeg -v error -y -i " +
                  voiceman::testing::quote((data / "sample.wav").string()) + " -i " +
                  voiceman::testing::quote((data / "ami/ami_trn00.wav").string()) +
                  " -filter_complex '[0:a]aresample=16000,aformat=channel_layouts=mono[a];"
                  "[1:a]aresample=16000,aformat=channel_layouts=mono[b];[a][b]concat=n=2:v=0:a=1'"
                  " -c:a aac " +
                  voiceman::testing::quote(joined)),
        0);
    ffmpeg_convert(data / "ami/ami_trn03.wav", in_ / "meeting.mp3");
    fs::copy_file(data / "jfk.flac", in_ / "jfk.flac");
    for (const char* id : {"1688-142285-0000", "2033-164914-0006", "2414-128291-0002"}) {
      const std::string spk = std::string(id).substr(0, 4);
      fs::copy_file(data / "librispeech_test-other" / spk / (std::string(id) + ".flac"),
                    in_ / (std::string(id) + ".flac"));
    }
  }

  static std::vector<std::string> names() {
    return {"call-60s.m4a",          "meeting.mp3",           "jfk.flac",
            "1688-142285-0000.flac", "2033-164914-0006.flac", "2414-128291-0002.flac"};
  }

  // segments with text, times and words of one transcript JSON.
  static nlohmann::json content(const fs::path& out, const std::string& name) {
    const nlohmann::json j = read_json(out / "transcripts" / (name + ".json"));
    nlohmann::json segs = nlohmann::json::array();
    for (const auto& s : j.at("segments")) {
      nlohmann::json c = {{"start", s.at("start")}, {"end", s.at("end")}, {"text", s.at("text")}};
      c["words"] = s.contains("words") ? s.at("words") : nlohmann::json::array();
      segs.push_back(c);
    }
    return segs;
  }

  fs::path root_, in_;
};

TEST_F(BatchedRun, AcrossFilesEqualsFileByFile) {
  RunOptions together = fast_options({in_.string()}, root_ / "together");
  together.batch.initial = 8;
  LogCapture log;
  int max_files_in_a_batch = 0;
  Hooks hooks;
  hooks.transcribe_start = [&](const std::vector<std::string>& n) {
    max_files_in_a_batch = std::max(max_files_in_a_batch, static_cast<int>(n.size()));
  };
  const RunReport all = run_quietly(together, &hooks);
  ASSERT_EQ(all.ok, 6) << all.failed;
  EXPECT_GE(max_files_in_a_batch, 4) << "chunks of several files should share a batch";

  for (const std::string& name : names()) {
    RunOptions alone = fast_options({(in_ / name).string()}, root_ / ("alone-" + name));
    alone.batch.initial = 8;
    ASSERT_EQ(run_quietly(alone).ok, 1) << name;
    const nlohmann::json a = content(root_ / "together", name);
    const nlohmann::json b = content(root_ / ("alone-" + name), name);
    EXPECT_FALSE(a.empty()) << name << " has no speech?";
    EXPECT_EQ(a, b) << name;
  }
  // The joined call holds two recordings' speech, so more than one 30 s chunk.
  const nlohmann::json call = content(root_ / "together", "call-60s.m4a");
  EXPECT_GT(call.back().at("end").get<double>(), 45.0);
}

TEST(EnginesPerDevice, AGpuTakesTwoEnginesWhereItsMemoryHoldsThem) {
  RunOptions o;
  // Automatic: two on a GPU with room for them, else one; the CPU goes by its threads.
  EXPECT_EQ(effective_engines_per_device(o, true, 16, /*gpu_room_for_two=*/true), 2);
  EXPECT_EQ(effective_engines_per_device(o, true, 16, /*gpu_room_for_two=*/false), 1);
  EXPECT_EQ(effective_engines_per_device(o, false, 16, /*gpu_room_for_two=*/false), 2);
  o.engines_per_device = 3;  // asked for: taken as it is
  EXPECT_EQ(effective_engines_per_device(o, true, 16, false), 3);
  o.engines_per_device = 0;
  o.mode = RunMode::sequential;
  EXPECT_EQ(effective_engines_per_device(o, true, 16, true), 1);
  // Weights and two working sets within 80% of the free memory.
  const uint64_t gib = uint64_t{1} << 30;
  EXPECT_TRUE(gpu_room_for_two_engines(4 * gib, 14 * gib, 40 * gib));
  EXPECT_FALSE(gpu_room_for_two_engines(4 * gib, 15 * gib, 40 * gib));
  EXPECT_FALSE(gpu_room_for_two_engines(4 * gib, 14 * gib, 0));
  // Rows per window: the larger of the beams and the fallback's samples.
  RunOptions rows;
  rows.transcribe.beam_size = 5;
  rows.transcribe.best_of = 2;
  EXPECT_EQ(rows_per_window(rows), 5);
  rows.transcribe.beam_size = 1;
  EXPECT_EQ(rows_per_window(rows), 2);
}

TEST(EnginesPerDevice, EveryGpuOfTheRunMustHoldTwoEngines) {
  // Large-v3 in float16 at the GPU defaults (20 windows, beam 5): about 3.1 GB of weights
  // and 13.4 GB per engine, so 30 GB for two, within 80% of a device's free memory.
  models::WhisperConfig v3;
  v3.n_mels = 128;
  v3.d_model = 1280;
  v3.encoder_layers = v3.decoder_layers = 32;
  v3.vocab_size = 51866;
  const RunOptions o;
  const uint64_t gib = uint64_t{1} << 30;
  cuda::GpuProbe probe;  // simulated readings: two cards, 79 and 23 GiB free
  probe.devices.resize(2);
  probe.devices[0].index = 0;
  probe.devices[0].memory_free = 79 * gib;
  probe.devices[1].index = 1;
  probe.devices[1].memory_free = 23 * gib;
  EXPECT_TRUE(room_for_two_engines(o, v3, 2, 2, probe, {Device::cuda(0)}));
  EXPECT_FALSE(room_for_two_engines(o, v3, 2, 2, probe, {Device::cuda(1)}));
  EXPECT_FALSE(room_for_two_engines(o, v3, 2, 2, probe, {Device::cuda(0), Device::cuda(1)}));
  EXPECT_FALSE(room_for_two_engines(o, v3, 2, 2, probe, {Device::cuda(2)}));  // not probed
  // Turbo's four decoder layers fit two engines on the smaller card.
  models::WhisperConfig turbo = v3;
  turbo.decoder_layers = 4;
  EXPECT_TRUE(room_for_two_engines(o, turbo, 2, 2, probe, {Device::cuda(0), Device::cuda(1)}));
  // Larger batches need more: 64 windows of large-v3 do not fit two on the larger card.
  RunOptions large = o;
  large.batch.initial = 64;
  EXPECT_FALSE(room_for_two_engines(large, v3, 2, 2, probe, {Device::cuda(0)}));
}

TEST_F(BatchedRun, TwoEnginesShareTheBatchesAndWriteWhatOneEngineWrites) {
  // The one engine gets the thread each of the two has: oneDNN's float GEMMs round
  // differently with one thread and with two on some CPUs (an AVX2 EPYC here), and int8
  // quantisation can turn that into other words, whoever schedules the batches.
  RunOptions one = fast_options({in_.string()}, root_ / "one-engine");
  one.batch.initial = 2;
  one.engines_per_device = 1;
  one.threads = 1;
  ASSERT_EQ(run_quietly(one).ok, 6);
  RunOptions two = fast_options({in_.string()}, root_ / "two-engines");
  two.batch.initial = 2;  // automatic: two engines on the CPU with two threads
  EXPECT_EQ(effective_engines_per_device(two, false, two.threads), 2);
  EXPECT_EQ(effective_engines_per_device(two, false, 1), 1);
  LogCapture log;
  const RunReport r = run_quietly(two);
  ASSERT_EQ(r.ok, 6) << r.failed;
  EXPECT_TRUE(log.contains("2 engines: 2 on each of 1 device(s)"));
  std::set<int> engines;
  for (const auto& b : metrics::read_metrics_jsonl(root_ / "two-engines" / "metrics.jsonl")) {
    engines.insert(b.engine);
    EXPECT_EQ(b.device, "cpu");
  }
  EXPECT_EQ(engines, (std::set<int>{0, 1})) << "both engines should have run batches";
  for (const std::string& name : names())
    EXPECT_EQ(content(root_ / "two-engines", name), content(root_ / "one-engine", name)) << name;
  // Each transcript names the engines it came from: two engines on one device in one
  // arithmetic are one record.
  const manifest::Manifest m = manifest::read_manifest(root_ / "two-engines");
  const manifest::EngineRecord cpu{"cpu",
                                   m.options.at("compute_type_effective").get<std::string>()};
  ASSERT_EQ(m.inputs.size(), names().size());
  for (const manifest::InputRecord& in : m.inputs)
    EXPECT_EQ(in.transcribed_on, std::vector<manifest::EngineRecord>{cpu}) << in.relative_path;
}

TEST_F(BatchedRun, TheCpusBatchHoldsWithoutAMaximum) {
  RunOptions o = fast_options({in_.string()}, root_ / "held");
  o.batch.initial = 1;  // one window per batch: 9 batches
  o.engines_per_device = 1;
  ASSERT_EQ(run_quietly(o).ok, 6);
  // The size control looks every 5 batches; it would grow while RAM is under half used.
  const auto batches = metrics::read_metrics_jsonl(root_ / "held" / "metrics.jsonl");
  ASSERT_GE(batches.size(), 6u) << "too few batches to pass an adjustment";
  for (const auto& b : batches) EXPECT_EQ(b.batch_size, 1) << "batch " << b.batch_id;
  const nlohmann::json report = read_json(root_ / "held" / "performance_report.json");
  EXPECT_EQ(report.at("batch_size_history").size(), 1u) << report.at("batch_size_history");
}

TEST_F(BatchedRun, MemoryCapForcesHalvingThenSucceeds) {
  RunOptions o = fast_options({in_.string()}, root_ / "capped");
  o.batch.initial = 8;
  o.engines_per_device = 1;
  // Fits a couple of windows' encoder activations, not eight.
  o.engine_memory_cap_mb = 160;
  LogCapture log;
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.ok, 6);
  EXPECT_EQ(r.failed, 0);
  EXPECT_TRUE(log.contains("Reducing batch size to 4")) << "no halving logged";
  const nlohmann::json report = read_json(root_ / "capped" / "performance_report.json");
  bool reduced = false;
  for (const auto& e : report.at("events"))
    reduced |= e.get<std::string>().find("Reducing batch size to") != std::string::npos;
  EXPECT_TRUE(reduced);
  const auto& history = report.at("batch_size_history");
  ASSERT_GE(history.size(), 2u);
  EXPECT_LT(history.back().at("batch_size").get<int>(), 8);
}

TEST_F(BatchedRun, MemoryCapWithTwoEnginesHalvesTheSharedBatchAndLosesNothing) {
  RunOptions o = fast_options({in_.string()}, root_ / "capped-two");
  o.batch.initial = 8;
  o.engines_per_device = 2;
  o.engine_memory_cap_mb = 160;  // shared by both engines' activations
  LogCapture log;
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.ok, 6);
  EXPECT_EQ(r.failed, 0);
  EXPECT_TRUE(log.contains("Reducing batch size to 4")) << "no halving logged";
  for (const std::string& name : names())
    EXPECT_FALSE(content(root_ / "capped-two", name).empty()) << name;
}

TEST_F(BatchedRun, ReportAgreesWithMetrics) {
  const fs::path out = root_ / "report";
  RunOptions o = fast_options({in_.string()}, out);
  o.batch.initial = 4;
  const RunReport r = run_quietly(o);
  ASSERT_EQ(r.ok, 6);
  const auto batches = metrics::read_metrics_jsonl(out / "metrics.jsonl");
  ASSERT_FALSE(batches.empty());
  double audio = 0;
  int windows = 0;
  for (const auto& b : batches) {
    audio += b.audio_s;
    windows += b.batch_size;
    EXPECT_EQ(b.device, "cpu");
    EXPECT_GT(b.wall_s, 0);
    EXPECT_GT(b.rss_mb, 0);
    EXPECT_FALSE(b.gpu.has_value());
  }
  EXPECT_EQ(batches.back().files_done, 6);
  const nlohmann::json report = read_json(out / "performance_report.json");
  EXPECT_EQ(report.at("total_files").get<int>(), 6);
  EXPECT_EQ(report.at("successful").get<int>(), 6);
  EXPECT_EQ(report.at("failed").get<int>(), 0);
  for (const char* key : {"total_time", "total_time_minutes", "avg_time_per_file_seconds",
                          "realtime_factor", "gpu_utilization", "cpu_utilization", "memory_peak_mb",
                          "memory_mean_mb", "batch_size_history", "failed_files"})
    EXPECT_TRUE(report.contains(key)) << key;
  EXPECT_TRUE(report.at("gpu_utilization").is_null());
  EXPECT_EQ(report.at("batches").at("count").get<size_t>(), batches.size());
  EXPECT_NEAR(report.at("batches").at("audio_s").get<double>(), audio, 1e-6);
  EXPECT_TRUE(fs::exists(out / "report.html"));
  EXPECT_FALSE(r.summary.empty());
}

TEST_F(BatchedRun, CudaRequestWithoutGpuFallsBackToTheCpu) {
  RunOptions o = fast_options({(in_ / "jfk.flac").string()}, root_ / "cuda");
  o.device = "cuda";
  LogCapture log;
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.ok, 1);
  EXPECT_TRUE(log.contains("GPU not available, using CPU fallback"));
  const auto batches = metrics::read_metrics_jsonl(root_ / "cuda" / "metrics.jsonl");
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches.front().device, "cpu");
}

TEST_F(BatchedRun, SequentialModeKeepsTheSeekLoop) {
  const fs::path out = root_ / "sequential";
  RunOptions o = fast_options({(in_ / "jfk.flac").string(), (in_ / "meeting.mp3").string()}, out);
  o.mode = RunMode::sequential;
  o.transcribe.condition_on_previous_text = true;  // allowed here, refused in batched mode
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.ok, 2);
  const auto batches = metrics::read_metrics_jsonl(out / "metrics.jsonl");
  ASSERT_EQ(batches.size(), 1u);  // both recordings in one engine call
  EXPECT_EQ(batches[0].files, 2);
  const nlohmann::json jfk = content(out, "jfk.flac");
  ASSERT_FALSE(jfk.empty());
  EXPECT_NE(jfk[0].at("text").get<std::string>().find("fellow Americans"), std::string::npos);
  const manifest::Manifest m = manifest::read_manifest(out);
  for (const manifest::InputRecord& in : m.inputs)
    EXPECT_EQ(in.transcribed_on,
              (std::vector<manifest::EngineRecord>{
                  {"cpu", m.options.at("compute_type_effective").get<std::string>()}}))
        << in.relative_path;

  RunOptions batched = o;
  batched.mode = RunMode::batched;
  EXPECT_THROW(validate(batched), ConfigError);
}

TEST(RunBatchOptions, AGpuGrowsTheBatchWhileTheCpuHoldsUnlessAMaximumIsGiven) {
  RunOptions o = fast_options({"in"}, "out");
  const auto sizes = [&](bool gpu) {
    const scheduler::BatchSizeOptions b = effective_batch_options(o, gpu);
    return std::pair{b.initial, b.max};
  };
  EXPECT_EQ(sizes(true), std::pair(20, 32));
  EXPECT_EQ(sizes(false), std::pair(8, 8));
  // Low memory (the controller's growth signal) grows the GPU's batch only.
  for (const bool gpu : {true, false}) {
    scheduler::BatchSizeController c(effective_batch_options(o, gpu));
    for (int i = 0; i < 50; ++i) c.on_batch(0.1);
    EXPECT_EQ(c.size(), gpu ? 32 : 8) << (gpu ? "gpu" : "cpu");
  }
  o.batch.initial = 40;  // a starting size above 32 is the GPU's maximum too
  EXPECT_EQ(sizes(true), std::pair(40, 40));
  EXPECT_EQ(sizes(false), std::pair(40, 40));
  o.batch.initial = 0;
  o.batch.max = 12;  // given: both may grow to it, and start no higher
  EXPECT_EQ(sizes(true), std::pair(12, 12));
  EXPECT_EQ(sizes(false), std::pair(8, 12));
  o.batch.initial = 4;
  EXPECT_EQ(sizes(false), std::pair(4, 12));
  EXPECT_NO_THROW(validate(o));
  o.batch.initial = 13;
  EXPECT_THROW(validate(o), ConfigError);
  o.batch.initial = 0;
  o.batch.max = -1;
  EXPECT_THROW(validate(o), ConfigError);
}

// The run shifts the cap from MiB into bytes: what would overflow is refused.
TEST(RunOptionsValidate, EngineMemoryCapHasAMaximum) {
  RunOptions o = fast_options({"in"}, "out");
  o.engine_memory_cap_mb = kMaxEngineMemoryCapMb;
  EXPECT_NO_THROW(validate(o));
  EXPECT_LT(kMaxEngineMemoryCapMb, std::numeric_limits<uint64_t>::max() >> 20);
  for (const uint64_t bad : {kMaxEngineMemoryCapMb + 1, std::numeric_limits<uint64_t>::max()}) {
    o.engine_memory_cap_mb = bad;  // 2^64-1 is what CLI11 makes of "-1"
    EXPECT_THROW(validate(o), ConfigError) << bad;
  }
}

TEST(RunOptionsValidate, RetryDelaysMustBeFinite) {
  RunOptions o = fast_options({"in"}, "out");
  o.retry_backoff_s = {5, std::numeric_limits<double>::infinity()};
  EXPECT_THROW(validate(o), ConfigError);
  o.retry_backoff_s = {std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THROW(validate(o), ConfigError);
  o.retry_backoff_s = {0, 1.5};
  EXPECT_NO_THROW(validate(o));
}

TEST(RunDevices, RequestsAreCheckedAndFallBackToTheCpuWithoutAGpu) {
  for (const char* ok : {"auto", "cpu", "cuda", "cuda:0", "cuda:12", "cuda:all"})
    EXPECT_TRUE(is_device_request(ok)) << ok;
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1a", "cuda:all2", "CPU"})
    EXPECT_FALSE(is_device_request(bad)) << bad;
  RunOptions o = fast_options({"in"}, "out");
  o.device = "cuda:one";
  EXPECT_THROW(validate(o), ConfigError);
  o.device = "cuda:all";
  o.engines_per_device = 9;
  EXPECT_THROW(validate(o), ConfigError);
  o.engines_per_device = 2;
  EXPECT_NO_THROW(validate(o));
  o.mode = RunMode::sequential;
  EXPECT_THROW(validate(o), ConfigError) << "sequential mode has one engine";
  o.engines_per_device = 1;
  o.device = "cuda";
  EXPECT_NO_THROW(validate(o));
  o.cuda_graphs = true;
  EXPECT_THROW(validate(o), ConfigError) << "sequential mode has no engine streams";
  o.mode = RunMode::batched;
  EXPECT_NO_THROW(validate(o));
  if (cuda::probe_gpus().available) GTEST_SKIP() << "a GPU is present";
  LogCapture log;
  for (const char* request : {"cuda:all", "cuda:3", "cuda"})
    EXPECT_EQ(select_devices(request).devices, std::vector<Device>{Device::cpu()}) << request;
  EXPECT_TRUE(log.contains("GPU not available, using CPU fallback"));
}

// The choice on a probe of three GPUs, the first of which this build cannot run.
TEST(DeviceChoice, GpusWithoutKernelsAreLeftOutOrRefused) {
  cuda::GpuProbe probe;
  probe.built_with_cuda = probe.available = true;
  probe.devices.push_back({0, "Tesla T4", 7, 5, uint64_t{15} << 30, 0, 0, "0:1", false,
                           cuda::missing_kernels("80-real", 7, 5)});
  probe.devices.push_back({1, "NVIDIA A100", 8, 0, uint64_t{80} << 30, 0, 0, "0:2"});
  probe.devices.push_back({3, "NVIDIA H100", 9, 0, uint64_t{80} << 30, 0, 0, "0:3"});
  LogCapture log;
  EXPECT_EQ(choose_devices("cuda", probe).devices, std::vector<Device>{Device::cuda(1)});
  EXPECT_EQ(choose_devices("auto", probe).devices, std::vector<Device>{Device::cuda(1)});
  EXPECT_EQ(choose_devices("cuda:all", probe).devices,
            (std::vector<Device>{Device::cuda(1), Device::cuda(3)}))
      << "by index, not by position";
  EXPECT_TRUE(log.contains("--device cuda:all leaves out cuda:0 Tesla T4 (compute capability 7.5"));
  EXPECT_EQ(choose_devices("cuda:3", probe).devices, std::vector<Device>{Device::cuda(3)});
  EXPECT_EQ(choose_devices("cpu", probe).devices, std::vector<Device>{Device::cpu()});
  for (const char* request : {"cuda:0", "cuda:2", "cuda:9"}) {
    try {
      choose_devices(request, probe);
      ADD_FAILURE() << request << " was accepted";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string("--device ") + request), std::string::npos) << what;
      EXPECT_NE(what.find("usable: cuda:1, cuda:3"), std::string::npos) << what;
      if (std::string(request) == "cuda:0") {
        EXPECT_NE(what.find("Tesla T4 has compute capability 7.5"), std::string::npos) << what;
      }
    }
  }
  // With no GPU it can run, every request falls back to the CPU and says why.
  probe.devices.resize(1);
  probe.available = false;
  probe.reason = "GPU not available: cuda:0 Tesla T4 has " + probe.devices[0].unusable;
  for (const char* request : {"cuda", "cuda:0", "cuda:all"})
    EXPECT_EQ(choose_devices(request, probe).devices, std::vector<Device>{Device::cpu()});
  EXPECT_TRUE(log.contains("using CPU fallback (GPU not available: cuda:0 Tesla T4 has compute"));
}

TEST(DeviceChoice, TheGpuRecordNamesTheRunsCardsAndLibraries) {
  cuda::GpuProbe probe;
  probe.driver_version = 13010;
  probe.runtime_version = 13000;
  probe.nvml_driver = "580.95.05";
  probe.blas_version = "13.1.0";
  probe.blas_path = "/usr/local/cuda/lib64/libcublas.so.13";
  probe.devices.push_back({0, "NVIDIA H200", 9, 0, uint64_t{141} << 30, 0, 0, "0000:19:00.0"});
  probe.devices.push_back(
      {1, "NVIDIA GB10", 12, 1, uint64_t{119} << 30, 0, 0, "0000:0f:01.0", /*integrated=*/true});
  const nlohmann::ordered_json r = gpu_record(probe, {Device::cuda(1)});
  ASSERT_EQ(r["devices"].size(), 1u) << "only the run's GPUs: " << r.dump();
  EXPECT_EQ(r["devices"][0]["device"], "cuda:1");
  EXPECT_EQ(r["devices"][0]["name"], "NVIDIA GB10");
  EXPECT_EQ(r["devices"][0]["compute_capability"], "12.1");
  EXPECT_EQ(r["devices"][0]["memory_total_mb"], 119 * 1024);
  EXPECT_EQ(r["devices"][0]["pci_bus_id"], "0000:0f:01.0");
  EXPECT_EQ(r["devices"][0].value("unified_memory", false), true);
  EXPECT_EQ(r["nvidia_driver"], "580.95.05");
  EXPECT_EQ(r["cuda_driver_api"], "13.1");
  EXPECT_EQ(r["cuda_runtime"], "13.0");
  EXPECT_EQ(r["cublas"], "13.1.0");
  EXPECT_EQ(r["cublas_path"], probe.blas_path);
  const nlohmann::ordered_json both = gpu_record(probe, {Device::cuda(0), Device::cuda(1)});
  ASSERT_EQ(both["devices"].size(), 2u);
  EXPECT_FALSE(both["devices"][0].contains("unified_memory")) << "the H200 has its own memory";
}

}  // namespace
}  // namespace voiceman::pipeline::test
