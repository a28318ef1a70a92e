# Every third-party dependency is found here, in one place.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)
find_package(ZLIB REQUIRED)

# JSON: Debian's nlohmann-json3-dev, or a header folder given by VOICEMAN_JSON_INCLUDE
# (the lent GPU machine has no -dev packages; gpu-check.sh carries the header).
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  find_path(VOICEMAN_JSON_INCLUDE nlohmann/json.hpp REQUIRED)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json INTERFACE ${VOICEMAN_JSON_INCLUDE})
endif()

# BLAS is optional: without it the engine uses its own blocked SGEMM. The OpenMP build of
# OpenBLAS is preferred: it shares the engine's OpenMP thread pool instead of adding a
# second pool of spinning threads (which halved throughput on two cores).
find_library(VOICEMAN_OPENBLAS_LIB NAMES openblas
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
find_path(VOICEMAN_CBLAS_INCLUDE NAMES cblas.h
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
if(NOT VOICEMAN_OPENBLAS_LIB OR NOT VOICEMAN_CBLAS_INCLUDE)
  unset(VOICEMAN_OPENBLAS_LIB CACHE)
  unset(VOICEMAN_CBLAS_INCLUDE CACHE)
  find_library(VOICEMAN_OPENBLAS_LIB NAMES openblas)
  find_path(VOICEMAN_CBLAS_INCLUDE NAMES cblas.h PATH_SUFFIXES openblas openblas-pthread)
endif()
if(VOICEMAN_OPENBLAS_LIB AND VOICEMAN_CBLAS_INCLUDE)
  set(VOICEMAN_HAVE_OPENBLAS ON)
  set(BLAS_LIBRARIES ${VOICEMAN_OPENBLAS_LIB})
  message(STATUS "voiceman: OpenBLAS ${VOICEMAN_OPENBLAS_LIB}")
else()
  set(VOICEMAN_HAVE_OPENBLAS OFF)
  message(STATUS "voiceman: no OpenBLAS, using the built-in SGEMM")
endif()

# oneDNN (Debian's libdnnl-dev) is preferred for GEMMs: JIT kernels for AVX-512/VNNI/AMX
# in float32 and int8. Optional, like OpenBLAS.
find_library(VOICEMAN_DNNL_LIB NAMES dnnl)
find_path(VOICEMAN_DNNL_INCLUDE NAMES oneapi/dnnl/dnnl.h)
if(VOICEMAN_DNNL_LIB AND VOICEMAN_DNNL_INCLUDE)
  set(VOICEMAN_HAVE_DNNL ON)
  message(STATUS "voiceman: oneDNN ${VOICEMAN_DNNL_LIB}")
else()
  set(VOICEMAN_HAVE_DNNL OFF)
endif()

if(VOICEMAN_BUILD_APP)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswresample libavutil)
  find_package(CLI11 REQUIRED)
  find_package(OpenSSL REQUIRED)   # MD5/SHA-256 for the custody manifest
  find_package(SQLite3 REQUIRED)   # the resume journal
  pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)  # scale-out over Redis
endif()

if(VOICEMAN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
