#include "voiceman/core/cgroup_memory.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/paths.h"
#include "voiceman/core/system_memory.h"

namespace voiceman {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMiB = uint64_t{1} << 20;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// cgroup v2 as a container without its own namespace sees it: a limit on the slice and a
// tighter one on the service, the process two groups down.
TEST(CgroupMemory, V2TakesTheTightestGroupOnTheWayToTheRoot) {
  const fs::path root = voiceman::testing::scratch_dir("cgroup_v2");
  write(root / "cgroup.controllers", "cpu memory pids\n");  // the root has no memory.max
  const fs::path slice = root / "job.slice", service = slice / "run.service";
  write(slice / "memory.max", std::to_string(8192 * kMiB) + "\n");
  write(slice / "memory.current", std::to_string(7000 * kMiB) + "\n");
  write(slice / "memory.stat",
        "anon 1\nfile 9\ninactive_file " + std::to_string(1000 * kMiB) + "\nactive_file 5\n");
  write(service / "memory.max", std::to_string(4096 * kMiB) + "\n");
  write(service / "memory.current", std::to_string(1024 * kMiB) + "\n");
  write(service / "memory.stat", "inactive_file " + std::to_string(512 * kMiB) + "\n");
  write(service / "worker" / "memory.max", "max\n");

  const auto m = cgroup_memory(root, "0::/job.slice/run.service/worker\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->limit, 4096 * kMiB);
  // The service could take 4096 - (1024 - 512), the slice only 8192 - (7000 - 1000).
  EXPECT_EQ(m->available, 2192 * kMiB);
}

// cgroup v1 beside a v2 mount (hybrid): the memory controller's hierarchy is the one.
TEST(CgroupMemory, V1ReadsTheMemoryControllersHierarchy) {
  const fs::path root = voiceman::testing::scratch_dir("cgroup_v1");
  write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n");  // none
  const fs::path group = root / "memory" / "docker" / "abc";
  write(group / "memory.limit_in_bytes", std::to_string(2048 * kMiB) + "\n");
  write(group / "memory.usage_in_bytes", std::to_string(3500 * kMiB) + "\n");
  write(group / "memory.stat",
        "inactive_file 1\ntotal_inactive_file " + std::to_string(1000 * kMiB) + "\n");
  const auto m = cgroup_memory(root, "12:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->limit, 2048 * kMiB);
  EXPECT_EQ(m->available, 0u);  // held past the limit: nothing left, not a wrap-around
}

TEST(CgroupMemory, NoLimitOrNothingReadableIsNoLimit) {
  const fs::path root = voiceman::testing::scratch_dir("cgroup_none");
  write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_FALSE(cgroup_memory(root, "4:memory:/\n"));
  write(root / "a" / "memory.max", "max\n");
  EXPECT_FALSE(cgroup_memory(root, "0::/a\n"));
  write(root / "b" / "memory.max", "lots\n");
  EXPECT_FALSE(cgroup_memory(root, "0::/b\n"));
  EXPECT_FALSE(cgroup_memory(root / "absent", "0::/\n"));
  EXPECT_FALSE(cgroup_memory(root, ""));
  EXPECT_FALSE(cgroup_memory(root, "0::/../elsewhere\n"));
}

// A container with its own cgroup namespace sees its group as "/": the mount's root is
// the group, and groups the mount does not show are skipped.
TEST(CgroupMemory, AGroupTheMountDoesNotShowIsSkipped) {
  const fs::path root = voiceman::testing::scratch_dir("cgroup_ns");
  write(root / "memory.max", std::to_string(512 * kMiB) + "\n");
  write(root / "memory.current", std::to_string(100 * kMiB) + "\n");
  for (const char* self : {"0::/\n", "0::/kubepods/pod1/ctr\n"}) {
    const auto m = cgroup_memory(root, self);
    ASSERT_TRUE(m) << self;
    EXPECT_EQ(m->limit, 512 * kMiB);
    EXPECT_EQ(m->available, 412 * kMiB);  // no memory.stat: nothing counts as reclaimable
  }
}

TEST(CgroupMemory, TheMachinesFiguresStayWithinTheLimit) {
  const SystemMemory machine{16384 * kMiB, 12000 * kMiB, 3000 * kMiB};
  const SystemMemory m = within_cgroup(machine, {4096 * kMiB, 2500 * kMiB});
  EXPECT_EQ(m.total, 4096 * kMiB);
  EXPECT_EQ(m.available, 2500 * kMiB);
  EXPECT_EQ(m.free, 2500 * kMiB);
  const SystemMemory loose = within_cgroup(machine, {65536 * kMiB, 60000 * kMiB});
  EXPECT_EQ(loose.total, machine.total);
  EXPECT_EQ(loose.available, machine.available);
  EXPECT_EQ(loose.free, machine.free);
}

}  // namespace
}  // namespace voiceman
