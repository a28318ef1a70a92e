#pragma once
// Process and system resource readings: one-off (sample_now) or a 1 s background sampler
// whose listener the governance rules hook into. Linux only (/proc).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "voiceman/core/system_memory.h"

namespace voiceman::metrics {

struct GpuDeviceReading {
  int index = 0;  // CUDA device index
  double used_mb = 0;
  double total_mb = 0;
  double util_percent = 0;
  bool unified = false;  // an integrated GPU: its memory is the system's
};

struct GpuReading {
  double used_mb = 0;       // device memory in use (all processes)
  double total_mb = 0;      // device memory size
  double util_percent = 0;  // SM utilisation over the driver's last interval
  bool unified = false;     // an integrated GPU's: the memory figures are the system's
  // Several GPUs: the fields above are their sum (memory) and mean (utilisation), and
  // each GPU's own reading is here, for rules that must see every device.
  std::vector<GpuDeviceReading> devices;
};

// Reads the GPU (NVML in the product). An empty function or nullopt means "no GPU".
// `system` is the same sample's /proc/meminfo reading, which an integrated GPU's memory
// figures are (engine/cuda/unified_memory.h): read once for both.
using GpuProbe = std::function<std::optional<GpuReading>(const SystemMemory& system)>;

struct ResourceSample {
  double t_s = 0;           // seconds since the sampler started
  double rss_mb = 0;        // this process's resident set
  double ram_percent = 0;   // system RAM in use: (MemTotal - MemAvailable) / MemTotal
  double ram_used_mb = 0;   // MemTotal - MemAvailable
  double ram_total_mb = 0;  // MemTotal
  double cpu_percent = 0;   // this process, % of all cores (100 = every core busy)
  std::optional<GpuReading> gpu;
};

// CPU tick counters kept between readings: CPU % is a rate, so it needs two of them.
struct CpuTicks {
  uint64_t process = 0;  // utime + stime of this process (/proc/self/stat)
  uint64_t system = 0;   // sum of the "cpu" line of /proc/stat (all cores)
  bool valid = false;
};

// One reading. CPU % covers the time since `*prev` (updated in place); with no previous
// reading (prev null or invalid) it is this process's average since it started. A
// throwing GPU probe counts as "no GPU". Throws IoError only if /proc cannot be read.
ResourceSample sample_now(CpuTicks* prev = nullptr, const GpuProbe& gpu = {}, double t_s = 0);

// Samples in a background thread, one reading per period. The series keeps at most
// max_samples readings: when full it drops every other one and from then on records every
// second reading (then every 4th...), so memory is bounded however long the run is while
// the series still spans the whole run at an even spacing.
class ResourceSampler {
 public:
  // period_s > 0 and max_samples >= 2, else ConfigError.
  explicit ResourceSampler(double period_s = 1.0, GpuProbe gpu = {}, size_t max_samples = 2048);
  ~ResourceSampler();  // stops
  ResourceSampler(const ResourceSampler&) = delete;
  ResourceSampler& operator=(const ResourceSampler&) = delete;

  // Takes a first reading at once (so latest() is valid on return) and starts the thread.
  // A second start() while running does nothing; start() after stop() continues the
  // series and the clock.
  void start();
  // Stops and joins the thread, then takes a last reading so even a run shorter than one
  // period has a start and an end. Safe to call twice.
  void stop();

  ResourceSample latest() const;
  std::vector<ResourceSample> series() const;
  int64_t samples_taken() const;  // readings taken, including decimated ones

  // Called from the sampler thread after each reading (and from start()/stop() for the
  // first and last ones). Exceptions it throws are logged and dropped.
  void set_listener(std::function<void(const ResourceSample&)> listener);

 private:
  void run();
  void take_sample(bool always_record = false);

  const double period_s_;
  const GpuProbe gpu_;
  const size_t max_samples_;

  mutable std::mutex mutex_;  // guards everything below except thread_
  std::condition_variable wake_;
  bool stop_requested_ = false;
  bool running_ = false;
  bool clock_started_ = false;
  std::chrono::steady_clock::time_point t0_;
  CpuTicks ticks_;
  ResourceSample latest_;
  std::vector<ResourceSample> series_;
  int64_t taken_ = 0;
  int64_t stride_ = 1;  // record every stride-th reading
  std::function<void(const ResourceSample&)> listener_;
  std::thread thread_;
};

}  // namespace voiceman::metrics
