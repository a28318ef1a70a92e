#include "voiceman/engine/cuda/device_probe.h"

#include <cctype>
#include <cstdio>
#include <optional>

#include "voiceman/engine/cuda/nvml.h"
#include "voiceman/engine/cuda/unified_memory.h"

#ifdef VOICEMAN_CUDA
#include <cuda_runtime_api.h>

#include "voiceman/engine/cuda/cublas_library.h"
#endif

namespace voiceman::cuda {

std::string cuda_version(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

const GpuInfo* GpuProbe::find(int index) const {
  for (const GpuInfo& d : devices)
    if (d.index == index) return &d;
  return nullptr;
}

std::vector<const GpuInfo*> GpuProbe::usable() const {
  std::vector<const GpuInfo*> out;
  for (const GpuInfo& d : devices)
    if (d.unusable.empty()) out.push_back(&d);
  return out;
}

namespace {

// One entry of CMAKE_CUDA_ARCHITECTURES: "90", "90-real", "121-virtual", "90a-real".
struct Arch {
  int major = 0, minor = 0;
  bool cubin = true, ptx = true;
  bool specific = false;  // "a": that compute capability only
  bool family = false;    // "f": that major version only
};

std::optional<Arch> parse_arch(std::string_view entry) {
  size_t i = 0;
  int number = 0;
  for (; i < entry.size() && std::isdigit(static_cast<unsigned char>(entry[i])) && i < 4; ++i)
    number = number * 10 + (entry[i] - '0');
  if (number < 10) return std::nullopt;
  Arch a;
  a.major = number / 10;
  a.minor = number % 10;
  if (i < entry.size() && (entry[i] == 'a' || entry[i] == 'f'))
    (entry[i++] == 'a' ? a.specific : a.family) = true;
  const std::string_view rest = entry.substr(i);
  if (rest == "-real")
    a.ptx = false;
  else if (rest == "-virtual")
    a.cubin = false;
  else if (!rest.empty())
    return std::nullopt;
  return a;
}

bool runs_on(const Arch& a, int major, int minor) {
  if (a.specific) return a.major == major && a.minor == minor;
  if ((a.cubin || a.family) && a.major == major && a.minor <= minor) return true;
  return a.ptx && !a.family && (a.major < major || (a.major == major && a.minor <= minor));
}

}  // namespace

std::string missing_kernels(std::string_view architectures, int major, int minor) {
  const std::string cc = std::to_string(major) + "." + std::to_string(minor);
  if (major < 8) return "compute capability " + cc + "; voiceman's kernels need 8.0 or newer";
  std::string listed;
  bool unreadable = false;
  while (!architectures.empty()) {
    const size_t comma = architectures.find(',');
    std::string_view entry = architectures.substr(0, comma);
    architectures = comma == std::string_view::npos ? "" : architectures.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    const std::optional<Arch> a = parse_arch(entry);
    if (!a) {
      unreadable = true;  // "native", "all", "all-major": resolved by the compiler
      continue;
    }
    if (runs_on(*a, major, minor)) return "";
    listed += (listed.empty() ? "" : ", ") + std::string(entry);
  }
  if (unreadable || listed.empty()) return "";
  return "compute capability " + cc + "; this build has kernels for " + listed +
         " only (rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(major * 10 + minor) +
         "-real)";
}

std::string_view built_architectures() {
#ifdef VOICEMAN_CUDA_ARCHITECTURES
  return VOICEMAN_CUDA_ARCHITECTURES;
#else
  return "";
#endif
}

std::string GpuProbe::summary() const {
  if (!available) return reason;
  std::string s = "cuda: " + std::to_string(devices.size()) + " device(s):";
  for (const GpuInfo& d : devices) {
    char buf[80];
    std::snprintf(buf, sizeof(buf), " (sm_%d%d, %.1f GiB %s", d.compute_major, d.compute_minor,
                  static_cast<double>(d.memory_free) / 1073741824.0,
                  d.integrated ? "available, unified memory" : "free");
    s += " cuda:" + std::to_string(d.index) + " " + d.name + buf +
         (d.unusable.empty() ? "" : ", not usable: " + d.unusable) + ")";
  }
  s += "; driver " + (nvml_driver.empty() ? cuda_version(driver_version) : nvml_driver) +
       ", CUDA " + cuda_version(runtime_version) + ", cuBLAS " + blas_version;
  return s;
}

GpuProbe probe_gpus() {
  GpuProbe p;
#ifndef VOICEMAN_CUDA
  p.reason = "GPU not available: this build has no CUDA backend (built with VOICEMAN_CUDA=OFF)";
  return p;
#else
  p.built_with_cuda = true;
  cudaRuntimeGetVersion(&p.runtime_version);
  // With the static runtime this is where libcuda.so.1 gets dlopened; without a driver it
  // reports 0 rather than failing.
  cudaDriverGetVersion(&p.driver_version);
  if (p.driver_version == 0) {
    p.reason = "GPU not available: no NVIDIA driver (libcuda.so.1 not found)";
    return p;
  }
  int count = 0;
  if (const cudaError_t rc = cudaGetDeviceCount(&count); rc != cudaSuccess || count == 0) {
    p.reason = std::string("GPU not available: ") +
               (rc == cudaSuccess ? "no CUDA device" : cudaGetErrorString(rc));
    cudaGetLastError();  // do not leave the error for the next runtime call to report
    return p;
  }
  // CUDA's minor-version compatibility runs a 13.x build on any 13.y driver; only an
  // older major version is refused.
  if (p.driver_version / 1000 < p.runtime_version / 1000) {
    p.reason = "GPU not available: the driver supports CUDA " + cuda_version(p.driver_version) +
               ", this build needs " + cuda_version(p.runtime_version);
    return p;
  }
  // Every GEMM needs cuBLAS, which is loaded, not linked: without it the GPU is unusable.
  const CublasLibrary& blas = cublas_library();
  if (!blas.error.empty()) {
    p.reason = "GPU not available: " + blas.error;
    return p;
  }
  p.blas_version = blas.version;
  p.blas_path = blas.path;
  std::optional<Nvml> nvml = Nvml::open();
  if (nvml) p.nvml_driver = nvml->driver_version();
  int current = 0;
  bool switched = false;  // since CUDA 12 cudaSetDevice creates a context: avoid it if we can
  cudaGetDevice(&current);
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    GpuInfo info;
    info.index = i;
    info.name = prop.name;
    info.compute_major = prop.major;
    info.compute_minor = prop.minor;
    info.memory_total = prop.totalGlobalMem;
    info.integrated = prop.integrated != 0;
    info.unusable = missing_kernels(built_architectures(), prop.major, prop.minor);
    char bus_id[32] = {};
    if (cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), i) == cudaSuccess) info.pci_bus_id = bus_id;
    // NVML first: it reads memory without creating a CUDA context (hundreds of MiB).
    std::optional<NvmlDeviceInfo> n;
    if (nvml && !info.pci_bus_id.empty()) n = nvml->device_by_pci(info.pci_bus_id);
    if (n) info.utilization = n->utilization;
    const std::optional<SystemMemory> system =
        info.integrated ? readable_system_memory() : std::nullopt;
    if (system) {
      // NVML has no memory figures for it, and cudaMemGetInfo's free leaves out the page
      // cache: the system's available memory is what it can have.
      info.memory_free = system->available;
    } else if (n && n->memory_total) {
      info.memory_free = n->memory_total - n->memory_used;
    } else if (info.unusable.empty()) {  // no context on a device it cannot use
      size_t free_bytes = 0, total_bytes = 0;
      switched = true;
      if (cudaSetDevice(i) == cudaSuccess &&
          cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
        info.memory_free = free_bytes;
    }
    p.devices.push_back(std::move(info));
  }
  if (switched) cudaSetDevice(current);
  cudaGetLastError();
  p.available = !p.usable().empty();
  if (p.devices.empty()) p.reason = "GPU not available: no device could be queried";
  if (!p.available)  // every device found is unusable: each one says why
    for (const GpuInfo& d : p.devices)
      p.reason += (p.reason.empty() ? "GPU not available: " : "; ") + std::string("cuda:") +
                  std::to_string(d.index) + " " + d.name + " has " + d.unusable;
  return p;
#endif
}

}  // namespace voiceman::cuda
