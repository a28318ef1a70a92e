#include "voiceman/engine/cuda/nvml.h"

#include <dlfcn.h>

#include <memory>

namespace voiceman::cuda {

// The handful of NVML entry points we use, declared from NVML's documented C API (the
// toolkit here ships no nvml.h, and the signatures have been stable since the _v2 forms).
namespace {
using nvmlReturn = int;  // nvmlReturn_t: 0 is NVML_SUCCESS
using nvmlDevice = void*;
struct nvmlMemory {
  unsigned long long total, free, used;
};
struct nvmlUtilization {
  unsigned int gpu, memory;
};
constexpr nvmlReturn kSuccess = 0;
}  // namespace

struct Nvml::Api {
  nvmlReturn (*init)();
  nvmlReturn (*shutdown)();
  nvmlReturn (*device_count)(unsigned int*);
  nvmlReturn (*handle_by_index)(unsigned int, nvmlDevice*);
  nvmlReturn (*handle_by_pci)(const char*, nvmlDevice*);
  nvmlReturn (*name)(nvmlDevice, char*, unsigned int);
  nvmlReturn (*memory)(nvmlDevice, nvmlMemory*);
  nvmlReturn (*utilization)(nvmlDevice, nvmlUtilization*);
  nvmlReturn (*driver_version)(char*, unsigned int);
};

std::optional<Nvml> Nvml::open(std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<Nvml> {
    if (why) *why = reason;
    return std::nullopt;
  };
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return fail("NVML not found (libnvidia-ml.so.1: no NVIDIA driver installed)");
  auto api = std::make_unique<Api>();
  auto sym = [&](const char* name) { return dlsym(lib, name); };
  api->init = reinterpret_cast<decltype(Api::init)>(sym("nvmlInit_v2"));
  api->shutdown = reinterpret_cast<decltype(Api::shutdown)>(sym("nvmlShutdown"));
  api->device_count = reinterpret_cast<decltype(Api::device_count)>(sym("nvmlDeviceGetCount_v2"));
  api->handle_by_index =
      reinterpret_cast<decltype(Api::handle_by_index)>(sym("nvmlDeviceGetHandleByIndex_v2"));
  api->handle_by_pci =
      reinterpret_cast<decltype(Api::handle_by_pci)>(sym("nvmlDeviceGetHandleByPciBusId_v2"));
  api->name = reinterpret_cast<decltype(Api::name)>(sym("nvmlDeviceGetName"));
  api->memory = reinterpret_cast<decltype(Api::memory)>(sym("nvmlDeviceGetMemoryInfo"));
  api->utilization =
      reinterpret_cast<decltype(Api::utilization)>(sym("nvmlDeviceGetUtilizationRates"));
  api->driver_version =
      reinterpret_cast<decltype(Api::driver_version)>(sym("nvmlSystemGetDriverVersion"));
  if (!api->init || !api->shutdown || !api->device_count || !api->handle_by_index ||
      !api->handle_by_pci || !api->name || !api->memory || !api->utilization ||
      !api->driver_version) {
    dlclose(lib);
    return fail("NVML library lacks the expected entry points");
  }
  if (const nvmlReturn rc = api->init(); rc != kSuccess) {
    dlclose(lib);
    return fail("NVML could not initialise (error " + std::to_string(rc) + ")");
  }
  return Nvml(lib, api.release());
}

Nvml::Nvml(Nvml&& other) noexcept : library_(other.library_), api_(other.api_) {
  other.library_ = nullptr;
  other.api_ = nullptr;
}

Nvml::~Nvml() {
  if (!library_) return;
  api_->shutdown();
  delete api_;
  dlclose(library_);
}

std::string Nvml::driver_version() const {
  char buf[96] = {};
  return api_->driver_version(buf, sizeof(buf)) == kSuccess ? std::string(buf) : std::string();
}

int Nvml::device_count() const {
  unsigned int n = 0;
  return api_->device_count(&n) == kSuccess ? static_cast<int>(n) : 0;
}

std::optional<NvmlDeviceInfo> Nvml::device(int index) const {
  nvmlDevice handle = nullptr;
  if (index < 0 || api_->handle_by_index(static_cast<unsigned int>(index), &handle) != kSuccess)
    return std::nullopt;
  return describe(handle);
}

std::optional<NvmlDeviceInfo> Nvml::device_by_pci(const std::string& bus_id) const {
  nvmlDevice handle = nullptr;
  if (api_->handle_by_pci(bus_id.c_str(), &handle) != kSuccess) return std::nullopt;
  return describe(handle);
}

std::optional<NvmlDeviceInfo> Nvml::describe(void* handle) const {
  NvmlDeviceInfo info;
  char name[96] = {};
  if (api_->name(handle, name, sizeof(name)) == kSuccess) info.name = name;
  nvmlMemory mem{};
  if (api_->memory(handle, &mem) == kSuccess) {
    info.memory_total = mem.total;
    info.memory_used = mem.used;
  }
  nvmlUtilization util{};
  if (api_->utilization(handle, &util) == kSuccess) info.utilization = static_cast<int>(util.gpu);
  return info;
}

}  // namespace voiceman::cuda
