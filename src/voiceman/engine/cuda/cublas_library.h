#pragma once
// cuBLAS and cuBLASLt, loaded with dlopen on first use rather than linked: a CUDA build
// then starts, and runs on the CPU, on machines without the CUDA libraries, like it does
// without the driver (the static runtime loads libcuda; nvml.cc loads NVML).
#include <cublasLt.h>
#include <cublas_v2.h>

#include <string>
#include <vector>

namespace voiceman::cuda {

// Every entry point the engine calls. The names go through cublas_v2.h's macros
// (cublasCreate is cublasCreate_v2), so members, types and symbols match the headers.
// clang-format off
#define VOICEMAN_CUBLAS_ENTRY_POINTS(X) \
  X(cublasCreate)                       \
  X(cublasDestroy)                      \
  X(cublasSetStream)                    \
  X(cublasSetWorkspace)                 \
  X(cublasSetMathMode)                  \
  X(cublasGetStatusString)              \
  X(cublasGetProperty)
#define VOICEMAN_CUBLASLT_ENTRY_POINTS(X) \
  X(cublasLtCreate)                       \
  X(cublasLtDestroy)                      \
  X(cublasLtMatmulDescCreate)             \
  X(cublasLtMatmulDescDestroy)            \
  X(cublasLtMatmulDescSetAttribute)       \
  X(cublasLtMatrixLayoutCreate)           \
  X(cublasLtMatrixLayoutDestroy)          \
  X(cublasLtMatmulPreferenceCreate)       \
  X(cublasLtMatmulPreferenceDestroy)      \
  X(cublasLtMatmulPreferenceSetAttribute) \
  X(cublasLtMatmulAlgoGetHeuristic)       \
  X(cublasLtMatmul)
// C++ sees these two overloaded (inline wrappers taking the old cudaDataType compute
// type), so their types are spelt out; the .cc checks them against the header.
#define VOICEMAN_CUBLAS_GEMM_ENTRY_POINTS(X) \
  X(cublasGemmEx)                            \
  X(cublasGemmStridedBatchedEx)
// clang-format on
using cublasGemmEx_fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                           int, int, int, const void*, const void*, cudaDataType,
                                           int, const void*, cudaDataType, int, const void*, void*,
                                           cudaDataType, int, cublasComputeType_t,
                                           cublasGemmAlgo_t);
using cublasGemmStridedBatchedEx_fn = cublasStatus_t (*)(
    cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
    cudaDataType, int, long long, const void*, cudaDataType, int, long long, const void*, void*,
    cudaDataType, int, long long, int, cublasComputeType_t, cublasGemmAlgo_t);

struct CublasApi {
#define VOICEMAN_CUBLAS_MEMBER(f) decltype(&::f) f = nullptr;
#define VOICEMAN_CUBLAS_GEMM_MEMBER(f) f##_fn f = nullptr;
  VOICEMAN_CUBLAS_ENTRY_POINTS(VOICEMAN_CUBLAS_MEMBER)
  VOICEMAN_CUBLAS_GEMM_ENTRY_POINTS(VOICEMAN_CUBLAS_GEMM_MEMBER)
  VOICEMAN_CUBLASLT_ENTRY_POINTS(VOICEMAN_CUBLAS_MEMBER)
#undef VOICEMAN_CUBLAS_MEMBER
#undef VOICEMAN_CUBLAS_GEMM_MEMBER
};

struct CublasLibrary {
  CublasApi api;        // every member set when `error` is empty
  std::string error;    // why the libraries cannot be used, naming what was tried
  std::string path;     // the libcublas that was loaded
  std::string version;  // its version, "13.1.0"
};

// Looks for the libraries of this build's cuBLAS major version through the dynamic
// loader's search (when `system_search`: LD_LIBRARY_PATH, ld.so.cache), then in each of
// `dirs`. Never throws; a library once loaded stays loaded (CUDA libraries are not made
// to be unloaded).
CublasLibrary load_cublas(bool system_search, const std::vector<std::string>& dirs);

// The process's copy, loaded once: the system search, then the toolkit this was built with.
const CublasLibrary& cublas_library();

// cublas_library().api, or DeviceError with the reason it could not be loaded.
const CublasApi& blas_api();

}  // namespace voiceman::cuda
