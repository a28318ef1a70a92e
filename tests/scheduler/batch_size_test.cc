#include "voiceman/scheduler/batch_size.h"

#include <gtest/gtest.h>

#include "voiceman/core/errors.h"

namespace voiceman::scheduler {
namespace {

BatchSizeController controller(int initial = 20, int max = 32) {
  BatchSizeOptions o;
  o.initial = initial;
  o.max = max;
  return BatchSizeController(o);
}

TEST(BatchSize, AdjustsOnlyEveryFifthBatch) {
  auto c = controller();
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(c.on_batch(0.9)) << "batch " << i;
  EXPECT_EQ(c.size(), 20);
  const auto change = c.on_batch(0.9);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, 20);
  EXPECT_EQ(change->to, 15);
  EXPECT_EQ(c.size(), 15);
  // The period starts again after an adjustment.
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(c.on_batch(0.9));
  EXPECT_TRUE(c.on_batch(0.9));
}

TEST(BatchSize, GrowsUnderHalfAndStopsAtTheMaximum) {
  auto c = controller(20, 32);
  std::vector<int> sizes;
  for (int i = 0; i < 40; ++i) {
    c.on_batch(0.3);
    sizes.push_back(c.size());
  }
  EXPECT_EQ(sizes[4], 25);
  EXPECT_EQ(sizes[9], 31);
  EXPECT_EQ(c.size(), 32);
}

TEST(BatchSize, HoldsBetweenTheThresholds) {
  auto c = controller();
  for (int i = 0; i < 25; ++i) EXPECT_FALSE(c.on_batch(0.65));
  EXPECT_EQ(c.size(), 20);
  for (int i = 0; i < 25; ++i) EXPECT_FALSE(c.on_batch(std::nullopt));
  EXPECT_EQ(c.size(), 20);
}

TEST(BatchSize, ShrinksAtOnceOnCriticalMemory) {
  auto c = controller();
  EXPECT_FALSE(c.on_critical(0.94));
  const auto change = c.on_critical(0.97);
  ASSERT_TRUE(change);
  EXPECT_EQ(c.size(), 10);
  EXPECT_NE(change->reason.find("97%"), std::string::npos);
}

TEST(BatchSize, OutOfMemoryHalvesDownToOneThenCountsFailures) {
  auto c = controller(20);
  std::vector<int> sizes;
  while (c.size() > 1) sizes.push_back(c.on_out_of_memory().to);
  EXPECT_EQ(sizes, (std::vector<int>{10, 5, 2, 1}));
  EXPECT_FALSE(c.should_fall_back_to_cpu());
  c.on_out_of_memory();
  c.on_out_of_memory();
  EXPECT_FALSE(c.should_fall_back_to_cpu());
  c.on_out_of_memory();
  EXPECT_TRUE(c.should_fall_back_to_cpu());
  BatchSizeOptions cpu;
  cpu.initial = 8;
  cpu.max = 8;
  c.reset(cpu);
  EXPECT_FALSE(c.should_fall_back_to_cpu());
  EXPECT_EQ(c.size(), 8);
  // The new device's maximum holds: low memory no longer grows the batch.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(c.on_batch(0.1));
  EXPECT_EQ(c.size(), 8);
  cpu.initial = 9;
  EXPECT_THROW(c.reset(cpu), ConfigError);
}

TEST(BatchSize, SuccessResetsTheFailureCount) {
  auto c = controller(1);
  c.on_out_of_memory();
  c.on_out_of_memory();
  c.on_batch(std::nullopt);
  c.on_out_of_memory();
  EXPECT_EQ(c.failures_at_minimum(), 1);
}

TEST(BatchSize, HistoryRecordsEveryChange) {
  auto c = controller(8);
  c.on_out_of_memory();
  for (int i = 0; i < 5; ++i) c.on_batch(0.2);
  ASSERT_EQ(c.history().size(), 2u);
  EXPECT_EQ(c.history()[0].to, 4);
  EXPECT_EQ(c.history()[1].to, 5);
}

TEST(BatchSize, RejectsBadOptions) {
  BatchSizeOptions o;
  o.initial = 40;
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.max = 0;
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.grow_below = 0.9;
  EXPECT_THROW(validate(o), ConfigError);
}

}  // namespace
}  // namespace voiceman::scheduler
