#include "voiceman/scheduler/governor.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace voiceman::scheduler {
namespace {

std::vector<Action> actions(const std::vector<GovernorEvent>& events) {
  std::vector<Action> out;
  for (const auto& e : events) out.push_back(e.action);
  return out;
}

ResourceReading gpu(double t, double used, double ours, double total = 1000) {
  ResourceReading r;
  r.t_s = t;
  r.ram_fraction = 0.3;
  r.rss_mb = 100;
  r.ram_total_mb = 16000;
  r.gpu_used_mb = used;
  r.gpu_ours_mb = ours;
  r.gpu_total_mb = total;
  return r;
}

TEST(Governor, WarnsOnceAndShrinksOncePerCrossing) {
  Governor g{GovernorOptions{}};
  EXPECT_TRUE(g.observe(gpu(0, 500, 500)).empty());
  EXPECT_EQ(actions(g.observe(gpu(1, 850, 850))), std::vector<Action>{Action::warn_gpu_memory});
  EXPECT_TRUE(g.observe(gpu(2, 860, 860)).empty());
  EXPECT_EQ(actions(g.observe(gpu(3, 960, 960))), std::vector<Action>{Action::shrink_batch});
  EXPECT_TRUE(g.observe(gpu(4, 970, 970)).empty());
  EXPECT_TRUE(g.observe(gpu(5, 400, 400)).empty());
  EXPECT_EQ(actions(g.observe(gpu(6, 990, 990))),
            (std::vector<Action>{Action::warn_gpu_memory, Action::shrink_batch}));
}

TEST(Governor, BusyGpuIsRecheckedEverySixtySeconds) {
  Governor g{GovernorOptions{}};
  // Other processes hold 92%: busy at the first look.
  EXPECT_EQ(actions(g.observe(gpu(0, 920, 0))),
            (std::vector<Action>{Action::warn_gpu_memory, Action::gpu_busy}));
  EXPECT_TRUE(g.gpu_busy());
  // Freed at t=10, but the next look is only at t=60.
  EXPECT_TRUE(g.observe(gpu(10, 100, 0)).empty());
  EXPECT_TRUE(g.gpu_busy());
  EXPECT_EQ(actions(g.observe(gpu(60, 100, 0))), std::vector<Action>{Action::gpu_free});
  EXPECT_FALSE(g.gpu_busy());
}

TEST(Governor, OwnMemoryDoesNotMakeTheGpuBusy) {
  Governor g{GovernorOptions{}};
  const auto a = actions(g.observe(gpu(0, 930, 900)));
  EXPECT_EQ(std::count(a.begin(), a.end(), Action::gpu_busy), 0);
}

TEST(Governor, RamReleaseIsRateLimitedAndTheCapStopsNewWork) {
  Governor g{GovernorOptions{}};
  ResourceReading r;
  r.ram_total_mb = 1000;
  r.rss_mb = 200;
  r.ram_fraction = 0.85;
  EXPECT_EQ(actions(g.observe(r)), std::vector<Action>{Action::release_caches});
  r.t_s = 5;
  EXPECT_TRUE(g.observe(r).empty());
  r.t_s = 11;
  EXPECT_EQ(actions(g.observe(r)), std::vector<Action>{Action::release_caches});
  r.t_s = 12;
  r.rss_mb = 850;
  const auto events = g.observe(r);
  EXPECT_EQ(actions(events), std::vector<Action>{Action::stop_new_work});
  EXPECT_NE(events[0].message.find("850 MB"), std::string::npos);
  EXPECT_TRUE(g.over_ram_cap());
  r.rss_mb = 100;
  r.ram_fraction = 0.2;
  g.observe(r);
  EXPECT_FALSE(g.over_ram_cap());
}

TEST(Governor, NoGpuReadingsNoGpuActions) {
  Governor g{GovernorOptions{}};
  ResourceReading r;
  r.ram_total_mb = 1000;
  r.rss_mb = 10;
  r.ram_fraction = 0.1;
  EXPECT_TRUE(g.observe(r).empty());
  EXPECT_FALSE(g.gpu_busy());
}

}  // namespace
}  // namespace voiceman::scheduler
