// The memory rules of integrated GPUs (GB10), fed readings as such a machine gives them:
// a GPU with its own memory is unchanged.
#include "voiceman/engine/cuda/unified_memory.h"

#include <gtest/gtest.h>

namespace voiceman::cuda {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

// GB10: 121.6 GiB in all; 38.7 GiB free as the kernel counts it, 107.8 GiB available
// once the page cache is given back.
SystemMemory gb10() { return {121 * kGiB + 6 * kGiB / 10, 107 * kGiB + 8 * kGiB / 10, 38 * kGiB}; }

TEST(UnifiedMemory, ADiscreteGpusPoolTakes95PercentOfItsMemory) {
  const SystemMemory system = gb10();
  EXPECT_EQ(default_memory_cap(80 * kGiB, false, nullptr), 76 * kGiB);
  EXPECT_EQ(default_memory_cap(80 * kGiB, false, &system), 76 * kGiB) << "the host's is not its";
}

TEST(UnifiedMemory, AnIntegratedGpusPoolTakes80PercentOfWhatIsAvailable) {
  const SystemMemory system = gb10();
  const uint64_t cap = default_memory_cap(system.total, true, &system);
  EXPECT_EQ(cap, static_cast<uint64_t>(0.8 * static_cast<double>(system.available)));
  EXPECT_LT(cap, system.available) << "the host side of the run and the OS keep a share";
  // Never more than the discrete rule, even with everything available.
  const SystemMemory idle{system.total, system.total, system.total};
  EXPECT_EQ(default_memory_cap(system.total, true, &idle),
            static_cast<uint64_t>(0.8 * static_cast<double>(system.total)));
  const SystemMemory odd{10 * kGiB, 64 * kGiB, 0};  // a device smaller than the system
  EXPECT_EQ(default_memory_cap(10 * kGiB, true, &odd),
            static_cast<uint64_t>(0.95 * static_cast<double>(10 * kGiB)));
  // Without /proc/meminfo: the discrete rule.
  EXPECT_EQ(default_memory_cap(100 * kGiB, true, nullptr), 95 * kGiB);
}

TEST(UnifiedMemory, ReadingsOfADiscreteGpuAreNvmls) {
  const GpuMemoryReading r = gpu_memory_reading(30 * kGiB, 80 * kGiB, false, nullptr);
  EXPECT_EQ(r.used, 30 * kGiB);
  EXPECT_EQ(r.total, 80 * kGiB);
  EXPECT_FALSE(r.unified);
  // NVML without memory figures: unknown, which the rules skip.
  EXPECT_EQ(gpu_memory_reading(0, 0, false, nullptr).total, 0u);
}

TEST(UnifiedMemory, ReadingsOfAnIntegratedGpuAreTheSystems) {
  const SystemMemory system = gb10();
  // GB10's NVML answers NOT_SUPPORTED (zeros); the page cache counts as free.
  GpuMemoryReading r = gpu_memory_reading(0, 0, true, &system);
  EXPECT_TRUE(r.unified);
  EXPECT_EQ(r.total, system.total);
  EXPECT_EQ(r.used, system.total - system.available);
  // Should NVML give figures, the system's still stand: the host's use is the GPU's too.
  r = gpu_memory_reading(2 * kGiB, system.total, true, &system);
  EXPECT_EQ(r.used, system.total - system.available);
  // Without /proc/meminfo: NVML's, or unknown.
  EXPECT_EQ(gpu_memory_reading(0, 0, true, nullptr).total, 0u);
}

TEST(UnifiedMemory, ThisMachinesReadingAsAnIntegratedGpuWouldHaveIt) {
  const std::optional<SystemMemory> system = readable_system_memory();
  ASSERT_TRUE(system.has_value());
  const GpuMemoryReading r = gpu_memory_reading(0, 0, true, &*system);
  EXPECT_EQ(r.total, system->total);
  EXPECT_LE(r.used, r.total);
  EXPECT_LE(default_memory_cap(system->total, true, &*system), system->available);
}

}  // namespace
}  // namespace voiceman::cuda
