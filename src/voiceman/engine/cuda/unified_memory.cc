#include "voiceman/engine/cuda/unified_memory.h"

#include <algorithm>

#include "voiceman/core/errors.h"

namespace voiceman::cuda {
namespace {

uint64_t fraction_of(double f, uint64_t bytes) {
  return static_cast<uint64_t>(f * static_cast<double>(bytes));
}

}  // namespace

uint64_t default_memory_cap(uint64_t device_total, bool integrated, const SystemMemory* system) {
  const uint64_t device_cap = fraction_of(kDeviceCapFraction, device_total);
  if (!integrated || !system) return device_cap;
  return std::min(device_cap, fraction_of(kUnifiedCapFraction, system->available));
}

std::optional<SystemMemory> readable_system_memory() {
  try {
    return system_memory();
  } catch (const Error&) {
    return std::nullopt;
  }
}

GpuMemoryReading gpu_memory_reading(uint64_t nvml_used, uint64_t nvml_total, bool integrated,
                                    const SystemMemory* system) {
  if (integrated && system)
    return {system->total - std::min(system->available, system->total), system->total, true};
  if (nvml_total == 0) return {};
  return {nvml_used, nvml_total, false};
}

}  // namespace voiceman::cuda
