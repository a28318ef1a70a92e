#include "voiceman/core/host_memory.h"

#include <atomic>
#include <string>

#include "voiceman/core/errors.h"

namespace voiceman::host_memory {
namespace {

std::atomic<uint64_t> g_in_use{0};
std::atomic<uint64_t> g_peak{0};
std::atomic<uint64_t> g_cap{0};

std::string mb(uint64_t bytes) { return std::to_string((bytes + (1u << 19)) >> 20) + " MB"; }

}  // namespace

Stats stats() { return {g_in_use.load(), g_peak.load(), g_cap.load()}; }

void set_cap(uint64_t bytes) { g_cap.store(bytes); }

void reset_peak() { g_peak.store(g_in_use.load()); }

void reserve(size_t bytes) {
  const uint64_t cap = g_cap.load();
  const uint64_t now = g_in_use.fetch_add(bytes) + bytes;
  if (cap && now > cap) {
    g_in_use.fetch_sub(bytes);
    throw OutOfMemoryError("engine host memory cap of " + mb(cap) + " reached (" + mb(now - bytes) +
                           " in use, " + mb(bytes) + " requested)");
  }
  uint64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

void release(size_t bytes) noexcept { g_in_use.fetch_sub(bytes); }

}  // namespace voiceman::host_memory
