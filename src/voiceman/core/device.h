#pragma once
// Explicit device context: passed to every op instead of hidden per-device globals.
#include <string>

namespace voiceman {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool operator==(const Device&) const = default;
  std::string str() const {
    return kind == DeviceKind::cpu ? std::string("cpu") : "cuda:" + std::to_string(index);
  }
};

// Everything an op needs besides its operands: where to run and with how many threads.
struct ExecContext {
  Device device;
  int threads = 1;  // CPU threads for GEMMs and parallel loops
  // cudaStream_t on CUDA devices; null is the legacy default stream. It must be a
  // blocking stream (cuda::Stream is): tensor uploads, downloads and zeroing run on the
  // legacy default stream and rely on that ordering.
  void* stream = nullptr;
  // CPU: the attention products of long sequences (the encoder) take bfloat16 inputs
  // with float32 accumulation, where the CPU multiplies bf16 natively. Set by the model
  // for the int8_bfloat16 compute type only.
  bool bf16_attention = false;
  // The decoder keeps its step's buffers and caches in place, and on a CUDA device with
  // an owned stream replays its steps as CUDA graphs (recorded the second time a step
  // shape is seen): one launch instead of a few hundred.
  bool cuda_graphs = false;
};

}  // namespace voiceman
