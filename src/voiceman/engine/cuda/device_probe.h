#pragma once
// What GPUs this process can use, for `--device auto|cuda`. Never throws and never
// crashes without a GPU or driver: `available` is false and `reason` says why.
#include <cstdint>
#include <string>
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
};

struct GpuProbe {
  bool built_with_cuda = false;  // this binary has the CUDA backend
  bool available = false;        // at least one usable device
  std::string reason;            // why not, e.g. "GPU not available: no NVIDIA driver"
  int driver_version = 0;        // CUDA driver API version (13000 is CUDA 13.0), 0 if none
  int runtime_version = 0;       // CUDA runtime this binary carries
  std::string nvml_driver;       // NVIDIA driver version string from NVML, if loaded
  std::string blas_version;      // cuBLAS, as loaded at run time: "13.1.0"
  std::string blas_path;
  std::vector<GpuInfo> devices;

  // The device with this CUDA index, or null.
  const GpuInfo* find(int index) const;

  // One line for logs: "cuda: 1 device(s): cuda:0 NVIDIA H100 (sm_90, 79.1 GiB free);
  // driver 580.95.05, CUDA 13.0, cuBLAS 13.1.0".
  std::string summary() const;
};

GpuProbe probe_gpus();

// "13.0" for the CUDA API's 13000.
std::string cuda_version(int version);

}  // namespace voiceman::cuda
