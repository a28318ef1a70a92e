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
  r.gpus = {GpuMemory{0, used, total, ours}};
  return r;
}

ResourceReading two_gpus(double t, GpuMemory a, GpuMemory b) {
  ResourceReading r = gpu(t, 0, 0);
  r.gpus = {a, b};
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
  EXPECT_TRUE(g.gpu_busy(0));
  // Freed at t=10, but the next look is only at t=60.
  EXPECT_TRUE(g.observe(gpu(10, 100, 0)).empty());
  EXPECT_TRUE(g.gpu_busy(0));
  EXPECT_EQ(actions(g.observe(gpu(60, 100, 0))), std::vector<Action>{Action::gpu_free});
  EXPECT_FALSE(g.gpu_busy(0));
}

// cuda:all: a sum over the GPUs would hide one of them at its limit (96% + 10% is 53%).
TEST(Governor, TheFullestOfSeveralGpusDecidesTheMemoryRules) {
  Governor g{GovernorOptions{}};
  EXPECT_TRUE(g.observe(two_gpus(0, {0, 100, 1000, 100}, {1, 500, 1000, 500})).empty());
  const auto events = g.observe(two_gpus(1, {0, 100, 1000, 100}, {1, 960, 1000, 960}));
  ASSERT_EQ(actions(events), (std::vector<Action>{Action::warn_gpu_memory, Action::shrink_batch}));
  EXPECT_EQ(events[1].device, 1);
  EXPECT_NE(events[1].message.find("96% on cuda:1"), std::string::npos) << events[1].message;
  // Still over on cuda:1: nothing new; cuda:0 filling instead is the same crossing.
  EXPECT_TRUE(g.observe(two_gpus(2, {0, 970, 1000, 970}, {1, 100, 1000, 100})).empty());
  EXPECT_TRUE(g.observe(two_gpus(3, {0, 100, 1000, 100}, {1, 100, 1000, 100})).empty());
  EXPECT_EQ(actions(g.observe(two_gpus(4, {0, 990, 1000, 990}, {1, 100, 1000, 100}))),
            (std::vector<Action>{Action::warn_gpu_memory, Action::shrink_batch}));
}

TEST(Governor, OneBusyGpuAmongSeveralIsSetAsideAlone) {
  Governor g{GovernorOptions{}};
  // Another process holds 95% of cuda:1; cuda:0 is ours and half full.
  auto events = g.observe(two_gpus(0, {0, 500, 1000, 480}, {1, 950, 1000, 0}));
  const auto a = actions(events);
  ASSERT_EQ(std::count(a.begin(), a.end(), Action::gpu_busy), 1);
  const auto busy = std::find_if(events.begin(), events.end(),
                                 [](const auto& e) { return e.action == Action::gpu_busy; });
  EXPECT_EQ(busy->device, 1);
  EXPECT_NE(busy->message.find("cuda:1 busy"), std::string::npos) << busy->message;
  EXPECT_TRUE(g.gpu_busy(1));
  EXPECT_FALSE(g.gpu_busy(0));
  EXPECT_EQ(g.busy_gpus(), std::set<int>{1});
  // Both busy at the next look, then cuda:1 frees while cuda:0 stays busy.
  events = g.observe(two_gpus(60, {0, 990, 1000, 0}, {1, 990, 1000, 0}));
  ASSERT_EQ(events.back().action, Action::gpu_busy);
  EXPECT_EQ(events.back().device, 0);
  EXPECT_EQ(g.busy_gpus(), (std::set<int>{0, 1}));
  events = g.observe(two_gpus(120, {0, 990, 1000, 0}, {1, 100, 1000, 0}));
  ASSERT_EQ(actions(events), std::vector<Action>{Action::gpu_free});
  EXPECT_EQ(events[0].device, 1);
  EXPECT_EQ(g.busy_gpus(), std::set<int>{0});
}

// GB10: the memory others hold is the system's, which the CPU would share. The memory
// rules still apply, to the system's use.
TEST(Governor, AnIntegratedGpuIsNeverBusyButItsMemoryRulesHold) {
  Governor g{GovernorOptions{}};
  ResourceReading r = gpu(0, 960, 0);
  r.gpus[0].unified = true;
  EXPECT_EQ(actions(g.observe(r)),
            (std::vector<Action>{Action::warn_gpu_memory, Action::shrink_batch}));
  EXPECT_FALSE(g.gpu_busy(0));
  // The same reading from a GPU with memory of its own: busy.
  Governor discrete{GovernorOptions{}};
  const auto a = actions(discrete.observe(gpu(0, 960, 0)));
  EXPECT_EQ(std::count(a.begin(), a.end(), Action::gpu_busy), 1);
  EXPECT_TRUE(discrete.gpu_busy(0));
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
  EXPECT_TRUE(g.busy_gpus().empty());
}

}  // namespace
}  // namespace voiceman::scheduler
