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

std::vector<GovernorEvent> Governor::observe(const ResourceReading& r) {
  std::vector<GovernorEvent> events;
  if (r.gpu_used_mb && r.gpu_total_mb && *r.gpu_total_mb > 0) {
    const double used = *r.gpu_used_mb / *r.gpu_total_mb;
    const double others = (*r.gpu_used_mb - r.gpu_ours_mb.value_or(0)) / *r.gpu_total_mb;
    if (used > options_.gpu_warn_above && !gpu_warned_)
      events.push_back({Action::warn_gpu_memory, "GPU memory at " + pct(used) + " (warning above " +
                                                     pct(options_.gpu_warn_above) + ")"});
    gpu_warned_ = used > options_.gpu_warn_above;
    if (used > options_.gpu_shrink_above && !gpu_critical_)
      events.push_back({Action::shrink_batch, "GPU memory at " + pct(used) + " (over " +
                                                  pct(options_.gpu_shrink_above) +
                                                  "): shrinking the batch"});
    gpu_critical_ = used > options_.gpu_shrink_above;
    // Busy is judged at the start and then every gpu_recheck_s, not on every reading.
    if (r.t_s - gpu_checked_at_ >= options_.gpu_recheck_s) {
      gpu_checked_at_ = r.t_s;
      const bool busy = others > options_.gpu_busy_above;
      if (busy && !gpu_busy_)
        events.push_back({Action::gpu_busy,
                          "GPU busy: other processes use " + pct(others) +
                              " of its memory; using CPU mode, checking again "
                              "every " +
                              std::to_string(static_cast<int>(options_.gpu_recheck_s)) + " s"});
      if (!busy && gpu_busy_)
        events.push_back({Action::gpu_free, "GPU free again (other processes use " + pct(others) +
                                                "); returning to the GPU"});
      gpu_busy_ = busy;
    }
  }
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
