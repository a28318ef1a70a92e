#pragma once
// Resource rules of a run, as a policy fed with readings (the 1 s sampler in production,
// simulated readings in tests). Each GPU of the run is judged on its own:
//  - any GPU's memory over 80%: warn; over 95%: shrink the batch now;
//  - a GPU busy (other processes hold over 90% of its memory): its engines stop taking
//    batches (the run goes to the CPU when every GPU is busy); checked again every 60 s,
//    back in use when it frees. Not an integrated GPU: the CPU uses the same memory;
//  - system RAM over 80%: release caches and pools;
//  - this process over the RAM cap (default 80% of RAM): stop taking new work.
// Each action is reported once per crossing, not on every reading.
#include <set>
#include <string>
#include <vector>

namespace voiceman::scheduler {

struct GovernorOptions {
  double gpu_warn_above = 0.80;     // fraction of device memory in use
  double gpu_shrink_above = 0.95;   // shrink the batch at once
  double gpu_busy_above = 0.90;     // memory held by other processes: the GPU is busy
  double gpu_recheck_s = 60;        // how often a busy GPU is looked at again
  double ram_release_above = 0.80;  // system RAM use that releases caches
  double ram_cap_fraction = 0.80;   // this process's RSS cap, as a fraction of RAM
  double release_interval_s = 10;   // at most one cache release per interval
};

void validate(const GovernorOptions& options);  // ConfigError

struct GpuMemory {
  int device = 0;      // CUDA device index
  double used_mb = 0;  // whole device, all processes
  double total_mb = 0;
  double ours_mb = 0;    // reserved by this process's pool on it
  bool unified = false;  // an integrated GPU: the system's memory, the CPU's too
};

struct ResourceReading {
  double t_s = 0;           // seconds since the run started
  double ram_fraction = 0;  // system RAM in use / total
  double rss_mb = 0;        // this process
  double ram_total_mb = 0;
  std::vector<GpuMemory> gpus;  // one per GPU of the run; empty without readings
};

enum class Action {
  warn_gpu_memory,  // over gpu_warn_above
  shrink_batch,     // over gpu_shrink_above
  gpu_busy,         // switch to the CPU
  gpu_free,         // a busy GPU freed up: switch back
  release_caches,   // system RAM high
  stop_new_work,    // over the RAM cap
};

struct GovernorEvent {
  Action action;
  std::string message;  // for the log and the report
  int device = -1;      // gpu_busy, gpu_free and the memory actions: the GPU concerned
};

class Governor {
 public:
  explicit Governor(GovernorOptions options);

  std::vector<GovernorEvent> observe(const ResourceReading& reading);

  // Whether GPU `device` was busy at its last check.
  bool gpu_busy(int device) const { return busy_.contains(device); }
  const std::set<int>& busy_gpus() const { return busy_; }
  bool over_ram_cap() const { return over_cap_; }

 private:
  void observe_gpus(const ResourceReading& r, std::vector<GovernorEvent>& events);

  GovernorOptions options_;
  bool gpu_warned_ = false;    // the fullest GPU over gpu_warn_above at the last reading
  bool gpu_critical_ = false;  // ... over gpu_shrink_above
  std::set<int> busy_;
  double gpu_checked_at_ = -1e300;
  bool over_cap_ = false;
  double released_at_ = -1e300;
};

}  // namespace voiceman::scheduler
