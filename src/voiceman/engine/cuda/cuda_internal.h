#pragma once
// CUDA-side helpers for the *_cuda.cc / *_cuda.cu files: error checks that map CUDA and
// cuBLAS failures to the engine's error types, and per-stream library handles.
#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/engine/cuda/cublas_library.h"

namespace voiceman::cuda {

// Throws OutOfMemoryError for allocation failures and DeviceError otherwise.
void check(cudaError_t rc, const char* what);
void check_blas(cublasStatus_t rc, const char* what);

inline cudaStream_t stream_of(const ExecContext& ctx) {
  return static_cast<cudaStream_t>(ctx.stream);
}

// Per (thread, device, stream): cuBLAS and cuBLASLt handles with a workspace from the
// pool (a workspace shared by two streams would be written concurrently), and pinned
// staging slots for small host-to-device uploads.
struct StreamState {
  static constexpr int kSlots = 64;
  static constexpr size_t kSlotBytes = 16 << 10;
  const CublasApi* api = nullptr;  // the loaded cuBLAS, set before any handle
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  char* pinned = nullptr;  // kSlots * kSlotBytes of page-locked host memory, or null
  cudaEvent_t slot_done[kSlots] = {};
  int next_slot = 0;
  // Staging for uploads over kSlotBytes: grows to the largest one seen.
  char* large = nullptr;
  size_t large_bytes = 0;
  cudaEvent_t large_done = nullptr;
  // Downloads (cuda::download): pinned, growing to the largest one seen; pageable only
  // where pinning failed.
  char* download_pinned = nullptr;
  size_t download_bytes = 0;
  std::vector<char> download_pageable;
  // Non-blocking stream that graphs for this stream are captured on (cuda::Graph).
  cudaStream_t capture = nullptr;
};
// Makes ctx.device current and returns its state, bound to ctx.stream.
StreamState& stream_state(const ExecContext& ctx);

// Host -> device copy ordered on ctx's stream; the caller may reuse `src` at once.
// Copies go through pinned staging and stay asynchronous (a copy from pageable memory
// would first wait for all the work queued on the stream).
void upload(const ExecContext& ctx, void* dst, const void* src, size_t bytes);

// Checks the last kernel launch.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

}  // namespace voiceman::cuda
