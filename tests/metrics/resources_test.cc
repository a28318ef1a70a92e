// Resource readings on this machine, and the background sampler's bounded series.
#include "voiceman/metrics/resources.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <thread>

#include "voiceman/core/errors.h"

namespace voiceman::metrics {
namespace {

// Waits (without asserting on time) until the sampler has taken `n` readings; gives up
// after a minute so a stuck sampler fails the test instead of hanging it.
bool wait_for_samples(const ResourceSampler& sampler, int64_t n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sampler.samples_taken() < n) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(SampleNow, ReadsSaneValuesOnThisMachine) {
  const ResourceSample s = sample_now();
  EXPECT_GT(s.rss_mb, 1.0);  // a running gtest binary holds at least a few MB
  EXPECT_GT(s.ram_percent, 0.0);
  EXPECT_LE(s.ram_percent, 100.0);
  EXPECT_GT(s.ram_total_mb, 100.0);
  EXPECT_GT(s.ram_used_mb, 0.0);
  EXPECT_LE(s.ram_used_mb, s.ram_total_mb);
  EXPECT_NEAR(s.ram_percent, 100.0 * s.ram_used_mb / s.ram_total_mb, 1e-9);
  EXPECT_GE(s.cpu_percent, 0.0);
  EXPECT_LE(s.cpu_percent, 100.0);
  EXPECT_FALSE(s.gpu.has_value());
}

TEST(SampleNow, RssGrowsWithTouchedMemory) {
  const double before = sample_now().rss_mb;
  std::vector<char> block(64 << 20, 1);  // 64 MiB, written so it is resident
  const double after = sample_now().rss_mb;
  EXPECT_GT(after - before, 48.0) << before << " -> " << after;
  EXPECT_EQ(block[12345], 1);
}

TEST(SampleNow, CpuPercentSeesBusyWork) {
  CpuTicks ticks;
  sample_now(&ticks);
  ASSERT_TRUE(ticks.valid);
  // Burn 0.3 s of this process's CPU time (measured in CPU time, not wall time).
  const std::clock_t start = std::clock();
  volatile double sink = 0;
  while (std::clock() - start < CLOCKS_PER_SEC * 3 / 10) sink = sink + 1.0;
  const ResourceSample s = sample_now(&ticks);
  EXPECT_GT(s.cpu_percent, 0.0);
  EXPECT_LE(s.cpu_percent, 100.0);
}

TEST(SampleNow, GpuProbeIsCopiedAndAThrowingProbeMeansNoGpu) {
  double system_total_mb = 0;
  const ResourceSample with = sample_now(nullptr, [&](const SystemMemory& system) {
    system_total_mb = static_cast<double>(system.total) / (1024.0 * 1024.0);
    return std::optional<GpuReading>(GpuReading{1000, 8000, 42, {}});
  });
  // The probe is given the sample's own memory reading (an integrated GPU's figures).
  EXPECT_EQ(system_total_mb, with.ram_total_mb);
  ASSERT_TRUE(with.gpu.has_value());
  EXPECT_EQ(with.gpu->used_mb, 1000);
  EXPECT_EQ(with.gpu->total_mb, 8000);
  EXPECT_EQ(with.gpu->util_percent, 42);
  const ResourceSample none =
      sample_now(nullptr, [](const SystemMemory&) -> std::optional<GpuReading> {
        throw std::runtime_error("NVML gone");
      });
  EXPECT_FALSE(none.gpu.has_value());
  EXPECT_FALSE(sample_now(nullptr, [](const SystemMemory&) {
                 return std::optional<GpuReading>();
               }).gpu.has_value());
}

TEST(ResourceSampler, RejectsBadOptions) {
  EXPECT_THROW(ResourceSampler(0.0), ConfigError);
  EXPECT_THROW(ResourceSampler(-1.0), ConfigError);
  EXPECT_THROW(ResourceSampler(1.0, {}, 1), ConfigError);
}

TEST(ResourceSampler, LatestIsValidRightAfterStart) {
  ResourceSampler sampler(60.0);  // the thread will not tick during this test
  sampler.start();
  EXPECT_GT(sampler.latest().rss_mb, 0.0);
  EXPECT_EQ(sampler.samples_taken(), 1);
  sampler.stop();
  EXPECT_EQ(sampler.samples_taken(), 2);  // stop() takes the last reading
  ASSERT_EQ(sampler.series().size(), 2u);
  EXPECT_LE(sampler.series()[0].t_s, sampler.series()[1].t_s);
  sampler.stop();  // twice is fine
  EXPECT_EQ(sampler.samples_taken(), 2);
}

TEST(ResourceSampler, SeriesStaysBoundedAndSpansTheRun) {
  ResourceSampler sampler(0.001, {}, 16);
  sampler.start();
  ASSERT_TRUE(wait_for_samples(sampler, 300));
  sampler.stop();
  const std::vector<ResourceSample> series = sampler.series();
  EXPECT_LE(series.size(), 17u);  // 16, plus the forced last reading of stop()
  EXPECT_GE(series.size(), 8u);
  EXPECT_LT(series.front().t_s, series.back().t_s);
  for (size_t i = 1; i < series.size(); ++i) EXPECT_LE(series[i - 1].t_s, series[i].t_s);
  EXPECT_EQ(series.back().t_s, sampler.latest().t_s);  // the series ends at the last reading
  for (const ResourceSample& s : series) {
    EXPECT_GT(s.rss_mb, 0.0);
    EXPECT_GT(s.ram_percent, 0.0);
    EXPECT_LE(s.ram_percent, 100.0);
  }
}

TEST(ResourceSampler, ListenerSeesEveryReadingAndMayThrow) {
  std::atomic<int64_t> calls{0};
  std::atomic<int> gpu_seen{0};
  ResourceSampler sampler(0.001, [](const SystemMemory&) {
    return std::optional<GpuReading>(GpuReading{1, 2, 3, {}});
  });
  sampler.set_listener([&](const ResourceSample& s) {
    if (s.gpu) ++gpu_seen;
    if (++calls % 3 == 0) throw std::runtime_error("listener failure");  // logged, dropped
  });
  sampler.start();
  ASSERT_TRUE(wait_for_samples(sampler, 30));
  sampler.stop();
  EXPECT_EQ(calls.load(), sampler.samples_taken());
  EXPECT_EQ(gpu_seen.load(), calls.load());
  ASSERT_TRUE(sampler.latest().gpu.has_value());
  EXPECT_EQ(sampler.latest().gpu->util_percent, 3);
}

TEST(ResourceSampler, DestructorStopsARunningSampler) {
  std::atomic<int64_t> calls{0};
  {
    ResourceSampler sampler(0.001);
    sampler.set_listener([&](const ResourceSample&) { ++calls; });
    sampler.start();
    ASSERT_TRUE(wait_for_samples(sampler, 5));
  }
  const int64_t after = calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls.load(), after);  // nothing runs after destruction
}

}  // namespace
}  // namespace voiceman::metrics
