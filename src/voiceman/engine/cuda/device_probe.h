#pragma once
// What GPUs this process can use, for `--device auto|cuda`. Never throws and never
// crashes without a GPU or driver: `available` is false and `reason` says why.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace voiceman::cuda {

struct GpuInfo {
  int index = 0;          // CUDA device index (cuda:N)
  std::string name;       // "NVIDIA H100 80GB HBM3"
  int compute_major = 0;  // compute capability, e.g. 9.0
  int compute_minor = 0;
  uint64_t memory_total = 0;  // bytes
  uint64_t memory_free = 0;   // bytes it can still allocate (unified_memory.h)
  int utilization = -1;       // percent busy (NVML), -1 when NVML is unavailable
  std::string pci_bus_id;     // "0000:65:00.0": how NVML finds this device
  bool integrated = false;    // shares the system's memory (GB10, Jetson)
  std::string unusable = {};  // why this binary cannot run on it; empty when it can
};

struct GpuProbe {
  bool built_with_cuda = false;  // this binary has the CUDA backend
  bool available = false;        // at least one device without `unusable`
  std::string reason;            // why not, e.g. "GPU not available: no NVIDIA driver"
  int driver_version = 0;        // CUDA driver API version (13000 is CUDA 13.0), 0 if none
  int runtime_version = 0;       // CUDA runtime this binary carries
  std::string nvml_driver;       // NVIDIA driver version string from NVML, if loaded
  std::string blas_version;      // cuBLAS, as loaded at run time: "13.1.0"
  std::string blas_path;
  std::vector<GpuInfo> devices;

  // The device with this CUDA index, or null.
  const GpuInfo* find(int index) const;
  // The devices this binary can run on, in index order.
  std::vector<const GpuInfo*> usable() const;

  // One line for logs: "cuda: 1 device(s): cuda:0 NVIDIA H100 (sm_90, 79.1 GiB free);
  // driver 580.95.05, CUDA 13.0, cuBLAS 13.1.0".
  std::string summary() const;
};

GpuProbe probe_gpus();

// "13.0" for the CUDA API's 13000.
std::string cuda_version(int version);

// Why a binary built for `architectures` (CMAKE_CUDA_ARCHITECTURES, commas for its
// semicolons: "80-real,90-real,121-virtual") has no kernels for a device of compute
// capability major.minor; empty when it has. A cubin (sm_XY) runs on major X at minor Y
// or above, PTX (compute_XY) on anything at least X.Y, an arch-specific one ("90a") only
// on X.Y itself. Forms it cannot read ("native", "all") count as running. Below 8.0
// nothing runs: the kernels use sm_80 instructions (cp.async, bfloat16 mma.sync).
std::string missing_kernels(std::string_view architectures, int major, int minor);

// The architectures this binary was built for, in that form ("" without CUDA).
std::string_view built_architectures();

}  // namespace voiceman::cuda
