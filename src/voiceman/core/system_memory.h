#pragma once
// The machine's memory as Linux reports it (/proc/meminfo). An integrated GPU (GB10 /
// DGX Spark, Jetson) has no memory of its own: the driver takes the system's pages, so
// this is what such a GPU can still have, as well as what the host can.
#include <cstdint>
#include <string_view>

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
// Reads /proc/meminfo; throws IoError when it cannot.
SystemMemory system_memory();

}  // namespace voiceman
