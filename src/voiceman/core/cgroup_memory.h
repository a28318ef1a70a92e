#pragma once
// A container's memory limit. Docker, Kubernetes and systemd put a process in a control
// group whose memory controller kills it past its limit, while /proc/meminfo still shows
// the whole machine: a run sized from meminfo alone would be killed rather than back
// off. Both cgroup layouts are read:
// - v2 (one hierarchy): memory.max ("max" for none), memory.current, memory.stat's
//   inactive_file;
// - v1 (a hierarchy per controller, the memory one under memory/): memory.limit_in_bytes
//   (about 2^63 for none), memory.usage_in_bytes, memory.stat's total_inactive_file.
// Each group from the process's own up to the mount's root limits it; the page cache's
// inactive part is reclaimed before the limit kills anything, so it counts as free.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace voiceman {

struct CgroupMemory {
  uint64_t limit = 0;      // bytes: the tightest limit on the way to the root
  uint64_t available = 0;  // bytes the process can still take before any limit is reached
};

// `self` is /proc/self/cgroup's text; `root` is where the hierarchies are mounted.
// nullopt where no group on the way limits memory, or nothing can be read. Groups the
// mount does not show (a container sees its own group as the root) are skipped.
std::optional<CgroupMemory> cgroup_memory(const std::filesystem::path& root, std::string_view self);
// The same for this process: /sys/fs/cgroup and /proc/self/cgroup.
std::optional<CgroupMemory> cgroup_memory();

}  // namespace voiceman
