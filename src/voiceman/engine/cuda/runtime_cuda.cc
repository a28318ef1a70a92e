#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/cuda/runtime.h"

namespace voiceman::cuda {
namespace {

struct DeviceCount {
  int count = 0;
  std::string why;  // when count is 0
};

// The number of devices cannot change during a process (CUDA_VISIBLE_DEVICES is read
// once by the driver), so it is asked once.
const DeviceCount& devices() {
  static const DeviceCount n = [] {
    DeviceCount d;
    int driver = 0;
    cudaDriverGetVersion(&driver);  // 0 when libcuda.so.1 cannot be loaded
    const cudaError_t rc = cudaGetDeviceCount(&d.count);
    if (driver == 0) {
      d.count = 0;
      d.why = "no NVIDIA driver: libcuda.so.1 not found";
      cudaGetLastError();
    } else if (rc != cudaSuccess) {
      d.count = 0;
      d.why = cudaGetErrorString(rc);
      cudaGetLastError();
    } else if (d.count == 0) {
      d.why = "the driver reports no devices";
    }
    return d;
  }();
  return n;
}

}  // namespace

void check(cudaError_t rc, const char* what) {
  if (rc == cudaSuccess) return;
  cudaGetLastError();  // clear non-sticky errors so the next call does not see them
  const std::string msg = std::string(what) + ": " + cudaGetErrorString(rc);
  if (rc == cudaErrorMemoryAllocation) throw OutOfMemoryError("CUDA out of memory in " + msg);
  throw DeviceError("CUDA error in " + msg);
}

void check_blas(cublasStatus_t rc, const char* what) {
  if (rc == CUBLAS_STATUS_SUCCESS) return;
  const std::string msg = std::string(what) + ": " + cublas_library().api.cublasGetStatusString(rc);
  if (rc == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemoryError("cuBLAS out of memory in " + msg);
  throw DeviceError("cuBLAS error in " + msg);
}

int device_count() { return devices().count; }

void set_device(Device device) {
  if (device.is_cpu()) throw DeviceError("set_device: cpu is not a CUDA device");
  const DeviceCount& d = devices();
  if (device.index < 0 || device.index >= d.count)
    throw DeviceError(device.str() + ": no CUDA device" +
                      (d.count ? " with this index (" + std::to_string(d.count) + " present)"
                               : " (" + d.why + ")"));
  int current = -1;
  check(cudaGetDevice(&current), "cudaGetDevice");
  if (current != device.index) check(cudaSetDevice(device.index), "cudaSetDevice");
}

void synchronize(const ExecContext& ctx) {
  set_device(ctx.device);
  check(cudaStreamSynchronize(stream_of(ctx)), "cudaStreamSynchronize");
}

Stream::Stream(Device device) : device_(device) {
  set_device(device);
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamDefault), "cudaStreamCreate");
  stream_ = s;
}

Stream::~Stream() {
  if (!stream_) return;
  int current = -1;
  cudaGetDevice(&current);
  if (current != device_.index) cudaSetDevice(device_.index);
  // Finish first: a later stream may get the same handle, and with it the per-stream
  // cuBLAS workspace (blas_handles keys on the stream).
  cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  if (current >= 0 && current != device_.index) cudaSetDevice(current);
}

namespace {

// Large enough for cuBLASLt's fastest Hopper/Blackwell kernels (NVIDIA recommends 32 MiB).
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

struct ThreadStreams {
  std::map<std::pair<int, cudaStream_t>, StreamState> by_stream;
  ~ThreadStreams() {
    for (auto& [key, st] : by_stream) {
      cudaSetDevice(key.first);
      release(key.first, st);
    }
  }
  static void release(int device, StreamState& st) {
    if (st.lt) st.api->cublasLtDestroy(st.lt);
    if (st.blas) st.api->cublasDestroy(st.blas);
    if (st.workspace) deallocate(Device::cuda(device), st.workspace);
    for (cudaEvent_t e : st.slot_done)
      if (e) cudaEventDestroy(e);
    if (st.pinned) cudaFreeHost(st.pinned);
    if (st.large_done) cudaEventDestroy(st.large_done);
    if (st.large) cudaFreeHost(st.large);
    if (st.download_pinned) cudaFreeHost(st.download_pinned);
    if (st.capture) cudaStreamDestroy(st.capture);
  }
};

}  // namespace

StreamState& stream_state(const ExecContext& ctx) {
  thread_local ThreadStreams streams;
  set_device(ctx.device);
  const cudaStream_t stream = stream_of(ctx);
  auto [it, inserted] = streams.by_stream.try_emplace({ctx.device.index, stream});
  StreamState& st = it->second;
  if (inserted) {
    try {
      st.api = &blas_api();
      check_blas(st.api->cublasCreate(&st.blas), "cublasCreate");
      check_blas(st.api->cublasLtCreate(&st.lt), "cublasLtCreate");
      st.workspace = allocate(ctx.device, kWorkspaceBytes);
      st.workspace_bytes = kWorkspaceBytes;
      check_blas(st.api->cublasSetStream(st.blas, stream), "cublasSetStream");
      check_blas(st.api->cublasSetWorkspace(st.blas, st.workspace, st.workspace_bytes),
                 "cublasSetWorkspace");
      // Full float32 math in float32 GEMMs (no TF32): that path exists for parity checks.
      // Half-precision GEMMs accumulate in float32, split-K reductions included.
      check_blas(
          st.api->cublasSetMathMode(
              st.blas, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                                 CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)),
          "cublasSetMathMode");
      void* pinned = nullptr;
      if (cudaMallocHost(&pinned, StreamState::kSlots * StreamState::kSlotBytes) == cudaSuccess) {
        st.pinned = static_cast<char*>(pinned);
        for (cudaEvent_t& e : st.slot_done)
          check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
      } else {
        cudaGetLastError();  // no pinned memory: uploads stay correct, only synchronous
      }
    } catch (...) {
      ThreadStreams::release(ctx.device.index, st);
      streams.by_stream.erase(it);
      throw;
    }
  }
  return st;
}

namespace {

// Large uploads (PCM of a batch, features) go through one growing pinned buffer, so the
// copy is a true asynchronous DMA and the host returns before it has run. The buffer is
// reused once the stream has finished reading it. Returns false, having copied nothing,
// beyond kLargeStagingMax or without pinned memory.
constexpr size_t kLargeStagingMax = size_t{256} << 20;

// Replaces `buffer` by `bytes` of page-locked memory (cudaFreeHost waits for the device).
// False, with no buffer left, where pinning fails.
bool repin(char*& buffer, size_t bytes) {
  if (buffer) cudaFreeHost(buffer);
  buffer = nullptr;
  void* p = nullptr;
  if (cudaMallocHost(&p, bytes) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  buffer = static_cast<char*>(p);
  return true;
}

bool upload_staged_large(StreamState& st, cudaStream_t stream, void* dst, const void* src,
                         size_t bytes) {
  if (bytes > kLargeStagingMax) return false;
  if (st.large_done) check(cudaEventSynchronize(st.large_done), "upload staging");
  if (st.large_bytes < bytes) {
    st.large_bytes = 0;
    if (!repin(st.large, bytes)) return false;
    st.large_bytes = bytes;
  }
  if (!st.large_done)
    check(cudaEventCreateWithFlags(&st.large_done, cudaEventDisableTiming), "cudaEventCreate");
  std::memcpy(st.large, src, bytes);
  check(cudaMemcpyAsync(dst, st.large, bytes, cudaMemcpyHostToDevice, stream), "upload");
  check(cudaEventRecord(st.large_done, stream), "upload event");
  return true;
}

}  // namespace

void upload(const ExecContext& ctx, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  StreamState& st = stream_state(ctx);
  const cudaStream_t stream = stream_of(ctx);
  // A recorded copy would replay whatever the staging memory holds by then.
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  check(cudaStreamIsCapturing(stream, &capturing), "cudaStreamIsCapturing");
  if (capturing != cudaStreamCaptureStatusNone)
    throw DeviceError("upload: a host-to-device copy inside a CUDA graph capture");
  const bool small = bytes <= StreamState::kSlotBytes;
  if (!small && upload_staged_large(st, stream, dst, src, bytes)) return;
  if (!small || !st.pinned) {
    // Pageable memory: correct, only synchronous (CUDA stages the copy itself).
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream), "upload");
    return;
  }
  const int slot = st.next_slot;
  st.next_slot = (slot + 1) % StreamState::kSlots;
  // The slot's previous copy (kSlots uploads ago) must have left the staging memory.
  check(cudaEventSynchronize(st.slot_done[slot]), "upload slot");
  char* staging = st.pinned + slot * StreamState::kSlotBytes;
  std::memcpy(staging, src, bytes);
  check(cudaMemcpyAsync(dst, staging, bytes, cudaMemcpyHostToDevice, stream), "upload");
  check(cudaEventRecord(st.slot_done[slot], stream), "upload event");
}

void copy(const ExecContext& ctx, void* dst, Device dst_device, const void* src, Device src_device,
          size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  if (src_device.is_cpu()) {
    upload(ctx, dst, src, bytes);
    return;
  }
  const cudaStream_t stream = stream_of(ctx);
  set_device(ctx.device);
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream), "copy");
  if (dst_device.is_cpu()) check(cudaStreamSynchronize(stream), "copy to host");
}

const void* download(const ExecContext& ctx, const void* src, size_t bytes) {
  StreamState& st = stream_state(ctx);
  const cudaStream_t stream = stream_of(ctx);
  if (st.download_bytes < bytes) {
    // Half again, so a batch with a few more rows does not re-pin (cudaFreeHost waits for
    // the device).
    const size_t want = bytes + bytes / 2;
    if (repin(st.download_pinned, want))
      st.download_pageable = {};
    else
      st.download_pageable.resize(want);
    st.download_bytes = want;
  }
  char* dst = st.download_pinned ? st.download_pinned : st.download_pageable.data();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "download");
  check(cudaStreamSynchronize(stream), "download");
  return dst;
}

void fill_zero(const ExecContext& ctx, void* ptr, size_t bytes) {
  if (bytes == 0) return;
  set_device(ctx.device);
  check(cudaMemsetAsync(ptr, 0, bytes, stream_of(ctx)), "cudaMemsetAsync");
}

}  // namespace voiceman::cuda
