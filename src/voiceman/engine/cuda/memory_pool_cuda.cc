// A caching device allocator with a hard cap. cudaMalloc/cudaFree are slow and
// cudaFree synchronises the device, so freed blocks are kept and reused; `reserved`
// (what the pool holds from the driver) never exceeds the cap, which is how the
// scheduler's memory budget becomes a promise rather than a hope.
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/cuda/unified_memory.h"

namespace voiceman::cuda {
namespace {

constexpr int kMaxDevices = 64;
constexpr size_t kSmall = size_t{1} << 20;

struct Pool {
  std::mutex mu;
  bool ready = false;
  bool integrated = false;     // the system's memory (unified_memory.h)
  uint64_t requested_cap = 0;  // 0: the default fraction of total
  MemoryStats stats;
  // Unused blocks by size, per thread that allocated them (see deallocate in runtime.h).
  std::map<std::thread::id, std::multimap<size_t, void*>> cached;
  struct Block {
    size_t size = 0;
    std::thread::id owner;
  };
  std::unordered_map<void*, Block> blocks;  // every block from cudaMalloc
};

// Never destroyed: tensors may outlive static destruction order, and freeing device
// memory after the runtime has shut down would fail anyway.
Pool& pool(Device device) {
  static Pool* pools = new Pool[kMaxDevices];
  if (device.index < 0 || device.index >= kMaxDevices)
    throw DeviceError(device.str() + ": device index out of range");
  return pools[device.index];
}

size_t round_up(size_t bytes) {
  const size_t unit = bytes <= kSmall ? 512 : (size_t{2} << 20);
  return (bytes + unit - 1) / unit * unit;
}

// An integrated GPU's default follows what the system has available, counting what this
// pool already holds (unified_memory.h). Taken again whenever it is read or would refuse
// an allocation: at the first allocation the host may still hold the weights being
// placed, and every tool that loads a model would otherwise keep that low cap.
void take_default_cap(Pool& p) {
  std::optional<SystemMemory> system = p.integrated ? readable_system_memory() : std::nullopt;
  if (system) system->available += p.stats.reserved;
  p.stats.cap = default_memory_cap(p.stats.total, p.integrated, system ? &*system : nullptr);
}

bool follows_system(const Pool& p) { return p.ready && p.integrated && !p.requested_cap; }

// Caller holds the lock and has made the device current.
void init(Pool& p, Device device) {
  if (p.ready) return;
  size_t free_bytes = 0, total = 0;
  check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
  p.stats.total = total;
  int integrated = 0;
  cudaDeviceGetAttribute(&integrated, cudaDevAttrIntegrated, device.index);
  cudaGetLastError();
  p.integrated = integrated != 0;
  p.stats.cap = p.requested_cap;
  if (!p.stats.cap) take_default_cap(p);
  p.ready = true;
}

// cudaFree waits for the whole device, so blocks other threads' streams used are safe.
// A block the driver refuses to free (a sticky fault, a capture in progress elsewhere)
// stays cached and counted, so the cap keeps telling the truth.
void release_locked(Pool& p) {
  for (auto& [owner, by_size] : p.cached) {
    for (auto it = by_size.begin(); it != by_size.end();) {
      if (cudaFree(it->second) != cudaSuccess) {
        cudaGetLastError();
        ++it;
        continue;
      }
      p.stats.reserved -= it->first;
      p.blocks.erase(it->second);
      it = by_size.erase(it);
    }
  }
  std::erase_if(p.cached, [](const auto& entry) { return entry.second.empty(); });
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// Set by retain_frees while this thread captures a graph.
thread_local std::vector<void*>* t_retain = nullptr;

}  // namespace

void* allocate(Device device, size_t bytes) {
  if (bytes == 0) return nullptr;
  set_device(device);
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  init(p, device);
  const size_t size = round_up(bytes);
  const std::thread::id self = std::this_thread::get_id();
  // Best fit among this thread's cached blocks, wasting at most a quarter of the block.
  if (auto own = p.cached.find(self); own != p.cached.end()) {
    auto& by_size = own->second;
    if (auto it = by_size.lower_bound(size); it != by_size.end() && it->first - size <= size / 4) {
      void* ptr = it->second;
      p.stats.in_use += it->first;
      by_size.erase(it);
      p.stats.peak = std::max(p.stats.peak, p.stats.in_use);
      return ptr;
    }
  }
  // An integrated GPU's cap first follows the system (it may have grown), then the cache
  // goes back to the driver, which costs a device-wide wait.
  if (p.stats.reserved + size > p.stats.cap && follows_system(p)) take_default_cap(p);
  if (p.stats.reserved + size > p.stats.cap) release_locked(p);
  if (p.stats.reserved + size > p.stats.cap)
    throw OutOfMemoryError(device.str() + ": out of memory: " + mib(size) + " requested, " +
                           mib(p.stats.in_use) + " in use, cap " + mib(p.stats.cap));
  void* ptr = nullptr;
  cudaError_t rc = cudaMalloc(&ptr, size);
  if (rc == cudaErrorMemoryAllocation) {  // another process holds memory: drop our cache, retry
    cudaGetLastError();
    release_locked(p);
    rc = cudaMalloc(&ptr, size);
  }
  if (rc == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw OutOfMemoryError(device.str() + ": out of memory: the device could not provide " +
                           mib(size) + " (" + mib(p.stats.in_use) + " in use by this pool)");
  }
  check(rc, "cudaMalloc");
  p.blocks[ptr] = Pool::Block{size, self};
  p.stats.reserved += size;
  p.stats.in_use += size;
  p.stats.peak = std::max(p.stats.peak, p.stats.in_use);
  return ptr;
}

void deallocate(Device device, void* ptr) noexcept {
  if (!ptr || device.index < 0 || device.index >= kMaxDevices) return;
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  auto it = p.blocks.find(ptr);
  if (it == p.blocks.end()) return;
  if (t_retain) {
    try {
      t_retain->push_back(ptr);
      return;
    } catch (...) {  // no memory to remember it: leak the block rather than reuse it
      return;
    }
  }
  const size_t size = it->second.size;
  p.stats.in_use -= size;
  try {
    p.cached[it->second.owner].emplace(size, ptr);
  } catch (...) {  // no host memory to cache it: back to the driver, which waits for the device
    int current = 0;
    cudaGetDevice(&current);
    if (cudaSetDevice(device.index) == cudaSuccess && cudaFree(ptr) == cudaSuccess) {
      p.stats.reserved -= size;
      p.blocks.erase(it);
    }
    cudaGetLastError();  // a block that stays is counted reserved, never reused
    cudaSetDevice(current);
  }
}

void retain_frees(std::vector<void*>* sink) { t_retain = sink; }

void release_retained(Device device, std::vector<void*>& blocks) noexcept {
  std::vector<void*>* const saved = t_retain;
  t_retain = nullptr;
  for (void* ptr : blocks) deallocate(device, ptr);
  blocks.clear();
  t_retain = saved;
}

MemoryStats memory_stats(Device device) {
  set_device(device);
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  init(p, device);
  if (follows_system(p)) take_default_cap(p);
  return p.stats;
}

void set_memory_cap(Device device, uint64_t bytes) {
  set_device(device);
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  p.requested_cap = bytes;
  p.ready = false;
  init(p, device);
  if (p.stats.reserved > p.stats.cap) release_locked(p);
}

void release_cached(Device device) {
  set_device(device);
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  release_locked(p);
}

void reset_peak(Device device) {
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  p.stats.peak = p.stats.in_use;
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  set_device(dst_device.is_cpu() ? src_device : dst_device);
  // Unified addressing lets the runtime tell host from device pointers.
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy");
}

void fill_zero(Device device, void* ptr, size_t bytes) {
  if (bytes == 0) return;
  set_device(device);
  check(cudaMemset(ptr, 0, bytes), "cudaMemset");
}

}  // namespace voiceman::cuda
