#pragma once
// Integrated GPUs (GB10 / DGX Spark, Jetson) have one memory for the host and the GPU:
// the driver allocates from the system's pages. What that changes:
// - cudaMemGetInfo's free is MemFree there, which counts the page cache as used although
//   the kernel gives it back on demand: what the GPU can still have is MemAvailable;
// - NVML reports no memory for them (NOT_SUPPORTED on GB10): the GPU's memory readings
//   are the system's;
// - past what the system can give, the OS kills a process rather than cudaMalloc
//   failing, so the pool's default cap comes from what is available (plus what the
//   pool holds), read again as that changes, leaving the host side of the run and the
//   OS a share.
// Plain policy, built without CUDA too: the pool and the probe feed it their readings.
#include <cstdint>
#include <optional>

#include "voiceman/core/system_memory.h"

namespace voiceman::cuda {

inline constexpr double kDeviceCapFraction = 0.95;   // of a discrete GPU's memory
inline constexpr double kUnifiedCapFraction = 0.80;  // of the system memory available

// The memory pool's cap when none was set. `system` is null where /proc/meminfo could
// not be read; an integrated GPU then gets a discrete GPU's rule.
uint64_t default_memory_cap(uint64_t device_total, bool integrated, const SystemMemory* system);

// system_memory(), or nullopt where /proc/meminfo cannot be read.
std::optional<SystemMemory> readable_system_memory();

// A GPU's memory for the run's readings: in use by every process, and its size.
struct GpuMemoryReading {
  uint64_t used = 0;
  uint64_t total = 0;    // 0: unknown
  bool unified = false;  // the system's memory, shared with the host
};
// NVML's numbers (0, 0 where it has none); on an integrated GPU the system's, whatever
// NVML says, since the host's use is the GPU's too.
GpuMemoryReading gpu_memory_reading(uint64_t nvml_used, uint64_t nvml_total, bool integrated,
                                    const SystemMemory* system);

}  // namespace voiceman::cuda
