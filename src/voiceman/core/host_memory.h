#pragma once
// Accounting of the engine's host (CPU) tensor memory, with an optional hard cap: the CPU
// counterpart of the CUDA pool's cap. Over the cap an allocation throws OutOfMemoryError,
// which the scheduler's batch-size back-off catches. Process-wide by nature (it meters
// one heap), like the allocator it wraps.
#include <cstddef>
#include <cstdint>

namespace voiceman::host_memory {

struct Stats {
  uint64_t in_use = 0;  // bytes held by CPU tensors now
  uint64_t peak = 0;    // highest in_use since start or reset_peak()
  uint64_t cap = 0;     // 0 = no cap
};

Stats stats();
// 0 removes the cap.
void set_cap(uint64_t bytes);
void reset_peak();

// Called by the tensor allocator: reserve throws OutOfMemoryError when bytes would go
// over the cap; release gives them back.
void reserve(size_t bytes);
void release(size_t bytes) noexcept;

}  // namespace voiceman::host_memory
