#include "voiceman/metrics/resources.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/core/system_memory.h"

namespace voiceman::metrics {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string read_proc(const char* path) {
  std::ifstream in(path);
  if (!in) throw IoError(std::string(path) + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Fields of /proc/self/stat after the command name, which may itself hold spaces and ')'.
std::vector<std::string> self_stat_fields() {
  const std::string text = read_proc("/proc/self/stat");
  const size_t close = text.rfind(')');
  if (close == std::string::npos) throw IoError("/proc/self/stat: unexpected format");
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
  if (fields.size() < 20) throw IoError("/proc/self/stat: unexpected format");
  return fields;
}

uint64_t system_ticks() {
  std::istringstream in(read_proc("/proc/stat"));
  std::string label;
  in >> label;
  if (label != "cpu") throw IoError("/proc/stat: unexpected format");
  // user nice system idle iowait irq softirq steal; guest time is already inside user.
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) {
    uint64_t v = 0;
    if (!(in >> v)) break;
    total += v;
  }
  return total;
}

double rss_mb() {
  std::istringstream in(read_proc("/proc/self/statm"));
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) throw IoError("/proc/self/statm: unexpected format");
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / kMiB;
}

double clamp_percent(double v) { return std::clamp(v, 0.0, 100.0); }

}  // namespace

ResourceSample sample_now(CpuTicks* prev, const GpuProbe& gpu, double t_s) {
  ResourceSample s;
  s.t_s = t_s;
  s.rss_mb = rss_mb();
  const SystemMemory mem = system_memory();
  s.ram_total_mb = static_cast<double>(mem.total) / kMiB;
  s.ram_used_mb = static_cast<double>(mem.total - std::min(mem.available, mem.total)) / kMiB;
  s.ram_percent = clamp_percent(100.0 * s.ram_used_mb / s.ram_total_mb);

  const std::vector<std::string> stat = self_stat_fields();
  CpuTicks now;
  now.process = std::stoull(stat[11]) + std::stoull(stat[12]);
  now.system = system_ticks();
  now.valid = true;
  if (prev != nullptr && prev->valid) {
    const double dsys = static_cast<double>(now.system) - static_cast<double>(prev->system);
    const double dproc = static_cast<double>(now.process) - static_cast<double>(prev->process);
    s.cpu_percent = dsys > 0 ? clamp_percent(100.0 * dproc / dsys) : 0.0;
  } else {
    // No earlier reading: the process's average since it started.
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double cores = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    std::istringstream up(read_proc("/proc/uptime"));
    double uptime_s = 0;
    up >> uptime_s;
    const double alive_ticks = uptime_s * hz - static_cast<double>(std::stoull(stat[19]));
    s.cpu_percent =
        alive_ticks > 0
            ? clamp_percent(100.0 * static_cast<double>(now.process) / (alive_ticks * cores))
            : 0.0;
  }
  if (prev != nullptr) *prev = now;

  if (gpu) {
    try {
      s.gpu = gpu(mem);
    } catch (const std::exception& e) {
      log::debug("GPU probe failed: ", e.what());
      s.gpu.reset();
    }
  }
  return s;
}

ResourceSampler::ResourceSampler(double period_s, GpuProbe gpu, size_t max_samples)
    : period_s_(period_s), gpu_(std::move(gpu)), max_samples_(max_samples) {
  if (!(period_s > 0)) throw ConfigError("resource sampler: period must be > 0 s");
  if (max_samples < 2) throw ConfigError("resource sampler: max_samples must be >= 2");
}

ResourceSampler::~ResourceSampler() {
  try {
    stop();
  } catch (const std::exception& e) {
    log::warn("resource sampler: ", e.what());
  }
}

void ResourceSampler::start() {
  {
    std::lock_guard lock(mutex_);
    if (running_) return;
    running_ = true;
    stop_requested_ = false;
    if (!clock_started_) {
      t0_ = std::chrono::steady_clock::now();
      clock_started_ = true;
    }
  }
  take_sample();
  thread_ = std::thread([this] { run(); });
}

void ResourceSampler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  take_sample(/*always_record=*/true);
}

void ResourceSampler::run() {
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(period_s_));
  auto next = std::chrono::steady_clock::now() + period;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, next, [this] { return stop_requested_; })) return;
    }
    try {
      take_sample();
    } catch (const std::exception& e) {
      log::warn("resource sampler: ", e.what());
    }
    // A slow reading (or a suspended process) must not cause a burst of catch-up samples.
    next = std::max(next + period, std::chrono::steady_clock::now());
  }
}

void ResourceSampler::take_sample(bool always_record) {
  CpuTicks ticks;
  double t_s = 0;
  {
    std::lock_guard lock(mutex_);
    ticks = ticks_;
    t_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  const ResourceSample s = sample_now(&ticks, gpu_, t_s);
  std::function<void(const ResourceSample&)> listener;
  {
    std::lock_guard lock(mutex_);
    ticks_ = ticks;
    latest_ = s;
    if (always_record || taken_ % stride_ == 0) {
      series_.push_back(s);
      if (series_.size() >= max_samples_) {
        // Keep readings 0, 2, 4...: still evenly spaced, now at twice the stride.
        size_t kept = 0;
        for (size_t i = 0; i < series_.size(); i += 2) series_[kept++] = series_[i];
        series_.resize(kept);
        stride_ *= 2;
      }
    }
    ++taken_;
    listener = listener_;
  }
  if (listener) {
    try {
      listener(s);
    } catch (const std::exception& e) {
      log::warn("resource sampler listener: ", e.what());
    }
  }
}

ResourceSample ResourceSampler::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::vector<ResourceSample> ResourceSampler::series() const {
  std::lock_guard lock(mutex_);
  return series_;
}

int64_t ResourceSampler::samples_taken() const {
  std::lock_guard lock(mutex_);
  return taken_;
}

void ResourceSampler::set_listener(std::function<void(const ResourceSample&)> listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

}  // namespace voiceman::metrics
