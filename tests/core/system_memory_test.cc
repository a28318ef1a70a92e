#include "voiceman/core/system_memory.h"

#include <gtest/gtest.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <optional>

#include "voiceman/core/errors.h"

namespace voiceman {
namespace {

// A GB10 after a large file was written: most of its memory is page cache.
constexpr const char* kMeminfo =
    "MemTotal:       127535336 kB\n"
    "MemFree:        40546224 kB\n"
    "MemAvailable:   113016048 kB\n"
    "Buffers:            7168 kB\n"
    "Cached:         70934272 kB\n"
    "HugePages_Total:       0\n";

TEST(SystemMemory, ParsesKilobytesIntoBytes) {
  const SystemMemory m = parse_meminfo(kMeminfo);
  EXPECT_EQ(m.total, uint64_t{127535336} * 1024);
  EXPECT_EQ(m.free, uint64_t{40546224} * 1024);
  EXPECT_EQ(m.available, uint64_t{113016048} * 1024);
}

TEST(SystemMemory, WithoutMemAvailableMemFreeStandsIn) {
  const SystemMemory m = parse_meminfo("MemTotal: 2048 kB\nMemFree: 512 kB\nCached: 900 kB\n");
  EXPECT_EQ(m.total, 2048u * 1024);
  EXPECT_EQ(m.available, 512u * 1024);
}

TEST(SystemMemory, WithoutMemTotalItIsAnError) {
  EXPECT_THROW(parse_meminfo("MemFree: 512 kB\nMemAvailable: 900 kB\n"), IoError);
  EXPECT_THROW(parse_meminfo(""), IoError);
  EXPECT_THROW(parse_meminfo("MemTotal: 0 kB\n"), IoError);
}

// This machine's /proc/meminfo against sysinfo(2), which reads the same counters, within
// the limit of the cgroup this test runs in, if it has one.
TEST(SystemMemory, ThisMachinesMemoryAsTheKernelReportsIt) {
  const SystemMemory m = system_memory();
  struct sysinfo info {};
  ASSERT_EQ(sysinfo(&info), 0);
  const uint64_t machine = uint64_t{info.totalram} * info.mem_unit;
  const std::optional<CgroupMemory> group = cgroup_memory();
  EXPECT_EQ(m.total, group ? std::min(machine, group->limit) : machine);
  EXPECT_GT(m.available, 0u);
  EXPECT_LE(m.available, m.total);
  EXPECT_LE(m.free, m.total);
}

}  // namespace
}  // namespace voiceman
