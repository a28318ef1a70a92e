#pragma once
// The memory this process can have: the machine's as Linux reports it (/proc/meminfo),
// within its container's limit. An integrated GPU (GB10 / DGX Spark, Jetson) has no
// memory of its own: the driver takes the system's pages, so this is what such a GPU can
// still have, as well as what the host can.
#include <cstdint>
#include <string_view>

#include "voiceman/core/cgroup_memory.h"

namespace voiceman {

struct SystemMemory {
  uint64_t total = 0;      // bytes: MemTotal
  uint64_t available = 0;  // MemAvailable: free pages plus what the kernel can reclaim
                           // (the page cache), without swapping
  uint64_t free = 0;       // MemFree: the page cache counts as used here
};

// The text of /proc/meminfo; throws IoError without a MemTotal line. Kernels before 3.14
// have no MemAvailable: MemFree stands in for it.
SystemMemory parse_meminfo(std::string_view text);
// The machine's figures as far as a container's limit lets this process have them.
SystemMemory within_cgroup(SystemMemory machine, const CgroupMemory& group);
// Reads /proc/meminfo, within the process's cgroup limit where it has one
// (cgroup_memory.h); throws IoError when meminfo cannot be read.
SystemMemory system_memory();

}  // namespace voiceman
