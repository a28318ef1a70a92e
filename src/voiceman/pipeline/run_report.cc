// Metrics of `voiceman run`: the 1 s resource sampler (which also feeds the governance
// rules), one OUT/metrics.jsonl line per engine batch, and at the end
// OUT/performance_report.json and OUT/report.html.
#include <algorithm>
#include <cmath>
#include <utility>

#include "voiceman/core/log.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/cuda/nvml.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/cuda/unified_memory.h"
#include "voiceman/pipeline/run_impl.h"
#include "voiceman/report/performance_report.h"
#include "voiceman/writers/atomic_file.h"

namespace voiceman::pipeline::detail {
namespace {

constexpr double kMb = 1024.0 * 1024.0;

// NVML readings of the run's GPUs; nothing on the CPU or without a driver. With several
// GPUs (cuda:all) memory is summed and utilisation averaged for the metrics and the
// report; each GPU's reading is kept as well, for the governor, which judges each GPU.
// NVML numbers every GPU of the machine while CUDA numbers the visible ones (and may
// order them differently): the two meet at the PCI bus id.
// An integrated GPU's memory is the system's (engine/cuda/unified_memory.h).
metrics::GpuProbe nvml_probe(const std::vector<Device>& devices, const cuda::GpuProbe& probe) {
  struct Gpu {
    int index = 0;
    std::string bus_id;
    bool integrated = false;
  };
  std::vector<Gpu> gpus;
  for (Device d : devices)
    if (!d.is_cpu()) gpus.push_back({d.index, "", false});
  if (gpus.empty()) return {};
  auto nvml = std::make_shared<std::optional<cuda::Nvml>>(cuda::Nvml::open());
  if (!nvml->has_value()) return {};
  for (Gpu& g : gpus) {
    if (const cuda::GpuInfo* info = probe.find(g.index)) {
      g.bus_id = info->pci_bus_id;
      g.integrated = info->integrated;
    }
    if (g.bus_id.empty()) {
      log::warn("cuda:", g.index, ": no PCI bus id, so no NVML readings for the GPU governor");
      return {};
    }
  }
  return [nvml, gpus](const SystemMemory& system) -> std::optional<metrics::GpuReading> {
    metrics::GpuReading sum;  // zeros
    for (const Gpu& g : gpus) {
      const auto info = (*nvml)->device_by_pci(g.bus_id);
      if (!info) return std::nullopt;
      const cuda::GpuMemoryReading mem =
          cuda::gpu_memory_reading(info->memory_used, info->memory_total, g.integrated, &system);
      const double used_mb = static_cast<double>(mem.used) / kMb;
      const double total_mb = static_cast<double>(mem.total) / kMb;
      const double util = static_cast<double>(std::max(0, info->utilization));
      sum.used_mb += used_mb;
      sum.total_mb += total_mb;
      sum.util_percent += util;
      sum.unified = sum.unified || mem.unified;
      sum.devices.push_back({g.index, used_mb, total_mb, util, mem.unified});
    }
    sum.util_percent /= static_cast<double>(gpus.size());
    return sum;
  };
}

}  // namespace

void Run::start_metrics() {
  started_utc_ = manifest::utc_now();
  // A resumed run adds its batches to those of the runs before it.
  metrics_log_ = std::make_unique<writers::MetricsLog>(setup_.out_dir / "metrics.jsonl",
                                                       /*append=*/options_.resume);
  governor_ = std::make_unique<scheduler::Governor>(options_.governor);
  const std::vector<Device> devices = setup_.devices;
  sampler_ = std::make_unique<metrics::ResourceSampler>(1.0, nvml_probe(devices, setup_.gpu_probe));
  sampler_->set_listener([this](const metrics::ResourceSample& s) {
    scheduler::ResourceReading r;
    r.t_s = s.t_s;
    r.ram_fraction = s.ram_percent / 100.0;
    r.rss_mb = s.rss_mb;
    r.ram_total_mb = s.ram_total_mb;
    if (s.gpu) {
      for (const metrics::GpuDeviceReading& d : s.gpu->devices) {
        scheduler::GpuMemory g{d.index, d.used_mb, d.total_mb, 0, d.unified};
#ifdef VOICEMAN_CUDA
        g.ours_mb = static_cast<double>(cuda::memory_stats(Device::cuda(d.index)).reserved) / kMb;
#endif
        r.gpus.push_back(g);
      }
    }
    auto events = governor_->observe(r);
    if (events.empty()) return;
    std::lock_guard lock(governor_mutex_);
    governor_events_.insert(governor_events_.end(), events.begin(), events.end());
  });
  sampler_->start();
}

std::optional<double> Run::memory_fraction() const {
  const metrics::ResourceSample s = sampler_->latest();
  if (options_.mode == RunMode::batched && !on_cpu_ && !setup_.ctx.device.is_cpu()) {
    // The fullest GPU still in use: the shared batch size must fit on each of them.
    std::optional<double> fullest;
    if (s.gpu)
      for (const metrics::GpuDeviceReading& d : s.gpu->devices)
        if (d.total_mb > 0 && !paused_gpus_.contains(d.index))
          fullest = std::max(fullest.value_or(0.0), d.used_mb / d.total_mb);
    return fullest;
  }
  return s.ram_percent / 100.0;
}

void Run::record_batch(int windows, int files, double audio_s, double wall_s, Device device,
                       int engine) {
  metrics::BatchMetrics b;
  b.batch_id = metrics_log_->lines_kept() + static_cast<int64_t>(batches_.size());
  b.run_started_utc = started_utc_;
  b.batch_size = batch_size_ ? batch_size_->size() : windows;
  b.files = files;
  b.audio_s = audio_s;
  b.wall_s = wall_s;
  b.device = device.str();
  b.engine = engine;
  metrics::set_resources(b, sampler_->latest());
  int failed = 0;
  for (const auto& r : records_) failed += r.status == manifest::InputStatus::failed;
  b.files_done = completed_;
  b.files_failed = failed;
  b.t_end_s = seconds_since(started_);
  metrics::finalize_rates(b);
  metrics_log_->write(metrics::to_json(b));
  batches_.push_back(b);
  (device.is_cpu() ? cpu_audio_s_ : gpu_audio_s_) += audio_s;
}

void Run::write_report() {
  sampler_->stop();
  report::RunSummaryInput in;
  in.started_utc = started_utc_;
  in.finished_utc = manifest::utc_now();
  in.model = options_.model_dir;
  in.compute_type = models::compute_type_name(setup_.model->compute_type());
  in.device.clear();
  for (Device device : setup_.devices) in.device += (in.device.empty() ? "" : ",") + device.str();
  in.wall_s = seconds_since(started_);
  in.batches = batches_;
  in.samples = sampler_->series();
  in.batch_size_history = batch_size_history_;
  in.events = events_;
  in.gpu_audio_s = gpu_audio_s_;
  in.cpu_audio_s = cpu_audio_s_;
  for (size_t i = 0; i < records_.size(); ++i) {
    const manifest::InputRecord& r = records_[i];
    // Done by another worker of the job: the report is about this worker's run.
    if (r.status == manifest::InputStatus::delegated) continue;
    if (r.status == manifest::InputStatus::pending) {
      ++in.not_processed;
      continue;
    }
    report::FileOutcome f;
    f.path = r.relative_path;
    f.status = resumed_inputs_[i] ? "resumed" : std::string(manifest::status_name(r.status));
    f.audio_s = r.audio_s;
    f.processing_s = resumed_inputs_[i] ? 0 : r.processing_s;
    std::vector<std::string> devices;  // where it was transcribed, each once
    for (const manifest::EngineRecord& e : r.transcribed_on)
      if (std::find(devices.begin(), devices.end(), e.device) == devices.end()) {
        f.device += (devices.empty() ? "" : ",") + e.device;
        devices.push_back(e.device);
      }
    f.warnings = r.warnings;
    if (r.status != manifest::InputStatus::ok) {
      f.stage = r.stage;
      f.error = r.error;
      f.error_class = std::string(manifest::error_class_name(r.error_class));
    }
    in.files.push_back(std::move(f));
  }
  nlohmann::ordered_json json = report::performance_report(in);
  if (options_.diarize) {
    // Diarization runs in the decode workers beside the engine: its time is summed over
    // files, and its share is that sum over the run's wall time.
    json["diarization"] = {{"seconds", diarize_s_},
                           {"share_of_wall_time", in.wall_s > 0 ? diarize_s_ / in.wall_s : 0.0}};
    log::info("diarization took ", std::round(diarize_s_ * 10) / 10.0, " s in all (",
              std::lround(in.wall_s > 0 ? 100 * diarize_s_ / in.wall_s : 0),
              "% of the run's wall time)");
  }
  writers::write_file_atomic(
      setup_.out_dir / "performance_report.json",
      json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  writers::write_file_atomic(setup_.out_dir / "report.html", report::render_html(in, json));
  summary_ = report::terminal_summary(json);
}

}  // namespace voiceman::pipeline::detail
