// cuBLAS is loaded at run time (so a CUDA build starts without the CUDA libraries); these
// run without a GPU, against the toolkit's own libraries.
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/cublas_library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <link.h>

#include <filesystem>

#include "support/paths.h"

namespace voiceman::cuda {
namespace {

namespace fs = std::filesystem;

const std::string kMajor = std::to_string(CUBLAS_VER_MAJOR);

TEST(CublasLibrary, ProcessCopyResolvesEveryEntryPoint) {
  const CublasLibrary& lib = cublas_library();
  ASSERT_EQ(lib.error, "");
  EXPECT_NE(lib.path.find("libcublas.so." + kMajor), std::string::npos) << lib.path;
  EXPECT_EQ(lib.version.rfind(kMajor + ".", 0), 0u) << lib.version;
#define VOICEMAN_EXPECT_SET(f) EXPECT_NE(lib.api.f, nullptr) << #f;
  VOICEMAN_CUBLAS_ENTRY_POINTS(VOICEMAN_EXPECT_SET)
  VOICEMAN_CUBLAS_GEMM_ENTRY_POINTS(VOICEMAN_EXPECT_SET)
  VOICEMAN_CUBLASLT_ENTRY_POINTS(VOICEMAN_EXPECT_SET)
#undef VOICEMAN_EXPECT_SET
  EXPECT_NO_THROW(blas_api());
  // Status strings come from the loaded library.
  const std::string ok = lib.api.cublasGetStatusString(CUBLAS_STATUS_SUCCESS);
  EXPECT_FALSE(ok.empty());
  EXPECT_NE(ok, lib.api.cublasGetStatusString(CUBLAS_STATUS_ALLOC_FAILED));
}

TEST(CublasLibrary, MissingLibrariesAreNamedWithWhereTheyWereLookedFor) {
  const fs::path dir = voiceman::testing::scratch_dir("cublas_missing");
  const CublasLibrary lib = load_cublas(false, {dir.string()});
  EXPECT_NE(lib.error.find("libcublasLt.so." + kMajor), std::string::npos) << lib.error;
  EXPECT_NE(lib.error.find(dir.string()), std::string::npos) << lib.error;
  EXPECT_NE(lib.error.find("LD_LIBRARY_PATH"), std::string::npos) << lib.error;
  EXPECT_EQ(lib.api.cublasCreate, nullptr);
  EXPECT_EQ(lib.path, "");
}

TEST(CublasLibrary, ALibraryWithoutTheEntryPointsIsRefused) {
  // glibc's libm under cuBLAS's names: it loads, but has none of the symbols.
  void* libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(libm, nullptr) << dlerror();
  link_map* map = nullptr;
  ASSERT_EQ(dlinfo(libm, RTLD_DI_LINKMAP, &map), 0) << dlerror();
  const fs::path impostor = fs::canonical(map->l_name);
  const fs::path dir = voiceman::testing::scratch_dir("cublas_impostor");
  for (const char* stem : {"libcublasLt.so.", "libcublas.so."})
    fs::create_symlink(impostor, dir / (stem + kMajor));
  const CublasLibrary lib = load_cublas(false, {dir.string()});
  EXPECT_NE(lib.error.find("lack"), std::string::npos) << lib.error;
  EXPECT_NE(lib.error.find("cublasCreate_v2"), std::string::npos) << lib.error;
  EXPECT_NE(lib.error.find("cublasLtMatmul"), std::string::npos) << lib.error;
  EXPECT_EQ(lib.api.cublasLtMatmul, nullptr);
}

}  // namespace
}  // namespace voiceman::cuda
#endif
