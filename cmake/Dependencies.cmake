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

# BLAS is optional: without it the engine uses its own blocked SGEMM.
set(BLA_VENDOR OpenBLAS)
find_package(BLAS QUIET)
find_path(VOICEMAN_CBLAS_INCLUDE NAMES cblas.h PATH_SUFFIXES openblas openblas-pthread)
if(BLAS_FOUND AND VOICEMAN_CBLAS_INCLUDE)
  set(VOICEMAN_HAVE_OPENBLAS ON)
  message(STATUS "voiceman: OpenBLAS ${BLAS_LIBRARIES}")
else()
  set(VOICEMAN_HAVE_OPENBLAS OFF)
  message(STATUS "voiceman: no OpenBLAS, using the built-in SGEMM")
endif()

if(VOICEMAN_BUILD_APP)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswresample libavutil)
  find_package(CLI11 REQUIRED)
endif()

if(VOICEMAN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
