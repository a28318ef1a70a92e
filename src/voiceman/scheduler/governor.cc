#include "voiceman/scheduler/governor.h"

#include <cmath>

#include "voiceman/core/errors.h"

namespace voiceman::scheduler {
namespace {

std::string pct(double f) { return std::to_string(static_cast<int>(std::lround(f * 100))) + "%"; }
std::string mb(double v) { return std::to_string(static_cast<long long>(std::lround(v))) + " MB"; }

bool fraction(double f) { return f > 0 && f <= 1; }

}  // namespace

void validate(const GovernorOptions& o) {
  if (!fraction(o.gpu_warn_above) || !fraction(o.gpu_shrink_above) || !fraction(o.gpu_busy_above) ||
      !fraction(o.ram_release_above) || !fraction(o.ram_cap_fraction))
    throw ConfigError("resource thresholds must be fractions in (0, 1]");
  if (o.gpu_warn_above > o.gpu_shrink_above)
    throw ConfigError("the GPU memory warning level must not exceed the shrink level");
  if (!(o.gpu_recheck_s > 0) || !(o.release_interval_s >= 0))
    throw ConfigError("resource check intervals must be positive");
}

Governor::Governor(GovernorOptions options) : options_(options) { validate(options_); }

void Governor::observe_gpus(const ResourceReading& r, std::vector<GovernorEvent>& events) {
  // Memory: the fullest GPU decides. The batch size is shared by every engine, so one
  // GPU near its limit is reason enough to shrink it.
  const GpuMemory* fullest = nullptr;
  double used = 0;
  for (const GpuMemory& g : r.gpus) {
    if (g.total_mb <= 0) continue;
    if (!fullest || g.used_mb / g.total_mb > used) {
      fullest = &g;
      used = g.used_mb / g.total_mb;
    }
  }
  if (!fullest) return;
  const std::string where = r.gpus.size() > 1 ? " on cuda:" + std::to_string(fullest->device) : "";
  if (used > options_.gpu_warn_above && !gpu_warned_)
    events.push_back({Action::warn_gpu_memory,
                      "GPU memory at " + pct(used) + where + " (warning above " +
                          pct(options_.gpu_warn_above) + ")",
                      fullest->device});
  gpu_warned_ = used > options_.gpu_warn_above;
  if (used > options_.gpu_shrink_above && !gpu_critical_)
    events.push_back({Action::shrink_batch,
                      "GPU memory at " + pct(used) + where + " (over " +
                          pct(options_.gpu_shrink_above) + "): shrinking the batch",
                      fullest->device});
  gpu_critical_ = used > options_.gpu_shrink_above;
  // Busy is judged at the start and then every gpu_recheck_s, not on every reading.
  if (r.t_s - gpu_checked_at_ < options_.gpu_recheck_s) return;
  gpu_checked_at_ = r.t_s;
  const std::string every = std::to_string(static_cast<int>(options_.gpu_recheck_s));
  for (const GpuMemory& g : r.gpus) {
    // Moving off an integrated GPU frees nothing: the CPU draws on the same memory.
    if (g.total_mb <= 0 || g.unified) continue;
    const double others = (g.used_mb - g.ours_mb) / g.total_mb;
    const bool busy = others > options_.gpu_busy_above;
    std::string name = "GPU";
    if (r.gpus.size() > 1) name += " cuda:" + std::to_string(g.device);
    if (busy && !busy_.contains(g.device))
      events.push_back({Action::gpu_busy,
                        name + " busy: other processes use " + pct(others) +
                            " of its memory; not using it, checking again every " + every + " s",
                        g.device});
    if (!busy && busy_.contains(g.device))
      events.push_back(
          {Action::gpu_free,
           name + " free again (other processes use " + pct(others) + "); using it again",
           g.device});
    if (busy)
      busy_.insert(g.device);
    else
      busy_.erase(g.device);
  }
}

std::vector<GovernorEvent> Governor::observe(const ResourceReading& r) {
  std::vector<GovernorEvent> events;
  observe_gpus(r, events);
  if (r.ram_fraction > options_.ram_release_above &&
      r.t_s - released_at_ >= options_.release_interval_s) {
    released_at_ = r.t_s;
    events.push_back({Action::release_caches, "system RAM at " + pct(r.ram_fraction) + " (over " +
                                                  pct(options_.ram_release_above) +
                                                  "): releasing caches"});
  }
  const double cap_mb = options_.ram_cap_fraction * r.ram_total_mb;
  const bool over = r.ram_total_mb > 0 && r.rss_mb > cap_mb;
  if (over && !over_cap_)
    events.push_back({Action::stop_new_work,
                      "memory use " + mb(r.rss_mb) + " is over the cap of " + mb(cap_mb) + " (" +
                          pct(options_.ram_cap_fraction) + " of RAM); no new work is started"});
  over_cap_ = over;
  return events;
}

}  // namespace voiceman::scheduler
