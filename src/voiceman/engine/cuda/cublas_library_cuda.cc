#include <dlfcn.h>

#include <filesystem>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/cublas_library.h"

// Two steps, so that a name is macro-expanded (cublasCreate -> cublasCreate_v2) first.
#define VOICEMAN_SYMBOL_NAME(f) VOICEMAN_SYMBOL_NAME_(f)
#define VOICEMAN_SYMBOL_NAME_(f) #f

namespace voiceman::cuda {
namespace {

// Each spelt-out type must pick one of the header's declarations.
#define VOICEMAN_CHECK_GEMM_TYPE(f) [[maybe_unused]] constexpr f##_fn f##_declared = &::f;
VOICEMAN_CUBLAS_GEMM_ENTRY_POINTS(VOICEMAN_CHECK_GEMM_TYPE)
#undef VOICEMAN_CHECK_GEMM_TYPE

std::string soname(const char* stem) {
  return std::string(stem) + ".so." + std::to_string(CUBLAS_VER_MAJOR);
}

// The first candidate that loads; `tried` collects each failure's dlerror.
void* open_first(const std::string& name, bool system_search, const std::vector<std::string>& dirs,
                 std::string& tried) {
  std::vector<std::string> candidates;
  if (system_search) candidates.push_back(name);
  for (const std::string& dir : dirs)
    if (!dir.empty()) candidates.push_back((std::filesystem::path(dir) / name).string());
  for (const std::string& c : candidates) {
    dlerror();
    if (void* lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
    const char* why = dlerror();
    tried += (tried.empty() ? "" : "; ") + std::string(why ? why : c + ": not loadable");
  }
  if (candidates.empty()) tried = "no place to look";
  return nullptr;
}

template <typename Fn>
void resolve(void* lib, const char* symbol, Fn& member, std::string& missing) {
  member = reinterpret_cast<Fn>(dlsym(lib, symbol));
  if (!member) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
}

}  // namespace

CublasLibrary load_cublas(bool system_search, const std::vector<std::string>& dirs) {
  CublasLibrary out;
  std::string tried;
  // cuBLASLt first: libcublas needs it, and finds an already loaded copy by its soname.
  void* lt = open_first(soname("libcublasLt"), system_search, dirs, tried);
  void* blas = lt ? open_first(soname("libcublas"), system_search, dirs, tried) : nullptr;
  if (!blas) {
    out.error = "cuBLAS " + std::to_string(CUBLAS_VER_MAJOR) + " not found (" + tried +
                "); install the CUDA " + std::to_string(CUBLAS_VER_MAJOR) +
                " cuBLAS libraries or add their directory to LD_LIBRARY_PATH";
    return out;
  }
  std::string missing;
#define VOICEMAN_RESOLVE_BLAS(f) resolve(blas, VOICEMAN_SYMBOL_NAME(f), out.api.f, missing);
#define VOICEMAN_RESOLVE_LT(f) resolve(lt, VOICEMAN_SYMBOL_NAME(f), out.api.f, missing);
  VOICEMAN_CUBLAS_ENTRY_POINTS(VOICEMAN_RESOLVE_BLAS)
  VOICEMAN_CUBLAS_GEMM_ENTRY_POINTS(VOICEMAN_RESOLVE_BLAS)
  VOICEMAN_CUBLASLT_ENTRY_POINTS(VOICEMAN_RESOLVE_LT)
#undef VOICEMAN_RESOLVE_BLAS
#undef VOICEMAN_RESOLVE_LT
  if (!missing.empty()) {
    out.api = {};
    out.error = "the cuBLAS libraries found lack " + missing;
    return out;
  }
  int major = 0, minor = 0, patch = 0;
  if (out.api.cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      out.api.cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      out.api.cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
    out.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  char path[4096] = {};
  if (dlinfo(blas, RTLD_DI_ORIGIN, path) == 0)
    out.path = std::string(path) + "/" + soname("libcublas");
  return out;
}

const CublasLibrary& cublas_library() {
  static const CublasLibrary library = load_cublas(true, {VOICEMAN_CUBLAS_DIR});
  return library;
}

const CublasApi& blas_api() {
  const CublasLibrary& library = cublas_library();
  if (!library.error.empty()) throw DeviceError(library.error);
  return library.api;
}

}  // namespace voiceman::cuda
