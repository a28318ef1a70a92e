#pragma once
// NVML, loaded with dlopen at run time (libnvidia-ml.so.1 comes with the driver, so a
// binary linked against it would not start on machines without one).
#include <cstdint>
#include <optional>
#include <string>

namespace voiceman::cuda {

struct NvmlDeviceInfo {
  std::string name;
  uint64_t memory_total = 0;  // bytes
  uint64_t memory_used = 0;   // bytes, all processes
  int utilization = -1;       // percent of the last sample period the GPU was busy; -1 unknown
};

// A loaded and initialised NVML. Not copyable; shuts NVML down when destroyed.
class Nvml {
 public:
  // nullopt (with the reason in *why) when the library or the driver is missing.
  static std::optional<Nvml> open(std::string* why = nullptr);
  Nvml(Nvml&& other) noexcept;
  Nvml& operator=(Nvml&&) = delete;
  Nvml(const Nvml&) = delete;
  ~Nvml();

  std::string driver_version() const;
  int device_count() const;
  // Device by NVML index (which follows PCI order, as CUDA does with CUDA_DEVICE_ORDER=PCI_BUS_ID).
  std::optional<NvmlDeviceInfo> device(int index) const;
  // Device by PCI bus id ("0000:65:00.0"), which is how CUDA and NVML indices are matched.
  std::optional<NvmlDeviceInfo> device_by_pci(const std::string& bus_id) const;

  struct Api;  // resolved entry points (nvml.cc)

 private:
  explicit Nvml(void* library, const Api* api) : library_(library), api_(api) {}
  std::optional<NvmlDeviceInfo> describe(void* handle) const;
  void* library_ = nullptr;
  const Api* api_ = nullptr;
};

}  // namespace voiceman::cuda
