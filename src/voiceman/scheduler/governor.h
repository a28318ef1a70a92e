#pragma once
// Resource rules of a run, as a policy fed with readings (the 1 s sampler in production,
// simulated readings in tests):
//  - GPU memory over 80%: warn; over 95%: shrink the batch now;
//  - GPU busy (other processes hold over 90% of its memory): run on the CPU, check again
//    every 60 s, go back when it frees;
//  - system RAM over 80%: release caches and pools;
//  - this process over the RAM cap (default 80% of RAM): stop taking new work.
// Each action is reported once per crossing, not on every reading.
#include <optional>
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

struct ResourceReading {
  double t_s = 0;           // seconds since the run started
  double ram_fraction = 0;  // system RAM in use / total
  double rss_mb = 0;        // this process
  double ram_total_mb = 0;
  std::optional<double> gpu_used_mb;  // whole device, all processes
  std::optional<double> gpu_total_mb;
  std::optional<double> gpu_ours_mb;  // reserved by this process's pool
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
};

class Governor {
 public:
  explicit Governor(GovernorOptions options);

  std::vector<GovernorEvent> observe(const ResourceReading& reading);

  bool gpu_busy() const { return gpu_busy_; }
  bool over_ram_cap() const { return over_cap_; }

 private:
  GovernorOptions options_;
  bool gpu_warned_ = false;
  bool gpu_critical_ = false;
  bool gpu_busy_ = false;
  double gpu_checked_at_ = -1e300;
  bool over_cap_ = false;
  double released_at_ = -1e300;
};

}  // namespace voiceman::scheduler
