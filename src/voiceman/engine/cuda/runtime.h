#pragma once
// The CUDA runtime as the rest of the engine sees it: plain C++, no CUDA headers, so it
// can be included from code compiled without nvcc. Implemented in runtime_cuda.cc and
// memory_pool_cuda.cc; only declared in builds with VOICEMAN_CUDA.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "voiceman/core/device.h"

namespace voiceman::cuda {

// Usable CUDA devices: 0 when there is no driver or no device. Never throws.
int device_count();

// Makes `device` current for the calling thread. Throws DeviceError ("cuda:1: no CUDA
// device ...") when it is not a CUDA device this process can use.
void set_device(Device device);

// Blocks until the work queued on the context's stream has finished; surfaces
// asynchronous kernel errors as DeviceError.
void synchronize(const ExecContext& ctx);

// An owned CUDA stream for an ExecContext. It is a blocking stream, ordered with the
// legacy default stream that tensor allocation, zeroing and copies use.
class Stream {
 public:
  explicit Stream(Device device);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void* get() const { return stream_; }

 private:
  Device device_;
  void* stream_ = nullptr;
};

// ---- CUDA graphs: work recorded once and replayed with one launch ----

// A captured and instantiated graph. Capture records on a private non-blocking stream
// that belongs to ctx's stream (a capture on a blocking stream would be broken by any
// other thread's use of the legacy default stream); launches go to ctx's stream. Pool
// blocks freed on this thread while the capture is open stay reserved until the graph
// is destroyed, since every replay writes them. A replay bakes in every address the
// recorded work touched: the caller keeps those buffers in place while the graph lives.
class Graph {
 public:
  // Records body(capture context) and instantiates it. Nothing runs. Returns null, with
  // the reason in *why, when the work cannot be captured (a host copy, a synchronising
  // call): the caller then runs the work directly. Running out of memory is no reason to
  // give up on graphs: OutOfMemoryError propagates, for the batch's back-off.
  static std::unique_ptr<Graph> capture(const ExecContext& ctx,
                                        const std::function<void(const ExecContext&)>& body,
                                        std::string* why);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  // Queues one replay on ctx's stream (ctx.device must be the capture's device).
  void launch(const ExecContext& ctx) const;

 private:
  Graph() = default;
  Device device_;
  void* exec_ = nullptr;                 // cudaGraphExec_t
  mutable void* launched_on_ = nullptr;  // the stream of the last replay
  std::vector<void*> retained_;          // pool blocks the replays write
};

// ---- Device memory: a caching pool per device with a hard cap ----

struct MemoryStats {
  uint64_t in_use = 0;    // bytes handed out to tensors
  uint64_t reserved = 0;  // bytes obtained from cudaMalloc (in use + cached)
  uint64_t peak = 0;      // highest in_use since start or reset_peak
  uint64_t cap = 0;       // reserved never exceeds this
  uint64_t total = 0;     // the device's memory
};

// Device memory from the pool of `device`. Over the cap, or when the device itself is
// out of memory after the cache was released, throws OutOfMemoryError.
void* allocate(Device device, size_t bytes);
// Returns memory to the pool's cache. A cached block goes back only to the thread that
// allocated it: each engine thread queues its work on one stream, so a block's next
// user is ordered behind its last one, while engines on other streams of the device
// never receive a block that their neighbour's queued kernels may still touch.
void deallocate(Device device, void* ptr) noexcept;

// While `sink` is set on a thread, blocks that thread frees are appended to it instead
// of going back to the cache (still counted in use); null ends that. release_retained
// then returns them to the cache. How a graph keeps the temporaries it recorded.
void retain_frees(std::vector<void*>* sink);
void release_retained(Device device, std::vector<void*>& blocks) noexcept;

MemoryStats memory_stats(Device device);
// Hard cap in bytes; 0 restores the default: 95% of the device's memory, or on an
// integrated GPU 80% of the system memory available, taken again each time the cap is
// read or would refuse an allocation (unified_memory.h).
void set_memory_cap(Device device, uint64_t bytes);
// Frees the cached (unused) blocks back to the driver.
void release_cached(Device device);
void reset_peak(Device device);

// Synchronous copy between any two devices (host memory is plain pageable memory).
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void fill_zero(Device device, void* ptr, size_t bytes);
// The same on ctx's stream. A copy to the host returns when the data is there (it waits
// for ctx's stream, not the device); one from the host goes through pinned staging and
// returns at once; one within the device is queued.
void copy(const ExecContext& ctx, void* dst, Device dst_device, const void* src, Device src_device,
          size_t bytes);
void fill_zero(const ExecContext& ctx, void* ptr, size_t bytes);
// Copies device memory to page-locked host memory that belongs to ctx's stream on this
// thread, and returns it once the data is there; it holds until the next download on the
// same thread and stream. The driver stages pageable downloads through small buffers of
// its own, at a fraction of the bus speed. Plain memory where pinning fails.
const void* download(const ExecContext& ctx, const void* src, size_t bytes);

}  // namespace voiceman::cuda
