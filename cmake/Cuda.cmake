# The CUDA backend. VOICEMAN_CUDA=AUTO turns it on when nvcc is found; ON insists, OFF
# never looks. The result is VOICEMAN_WITH_CUDA.
#
# The driver (libcuda), NVML and cuBLAS are never linked: the static CUDA runtime loads
# libcuda itself, engine/cuda/nvml.cc dlopens libnvidia-ml and cublas_library_cuda.cc
# dlopens cuBLAS/cuBLASLt, so one binary starts on machines with or without a GPU or the
# CUDA libraries (and then runs on the CPU).
include(CheckLanguage)

string(TOUPPER "${VOICEMAN_CUDA}" _voiceman_cuda)
set(VOICEMAN_WITH_CUDA OFF)
# The toolkit's usual home counts as "present" even when it is not on PATH.
if(NOT _voiceman_cuda MATCHES "^(OFF|NO|FALSE|0)$" AND NOT CMAKE_CUDA_COMPILER
   AND NOT DEFINED ENV{CUDACXX})
  find_program(VOICEMAN_NVCC nvcc HINTS ENV CUDA_PATH PATH_SUFFIXES bin
    PATHS /usr/local/cuda/bin)
  if(VOICEMAN_NVCC)
    set(CMAKE_CUDA_COMPILER "${VOICEMAN_NVCC}" CACHE FILEPATH "CUDA compiler")
  endif()
endif()
if(_voiceman_cuda STREQUAL "AUTO")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(VOICEMAN_WITH_CUDA ON)
  else()
    message(STATUS "voiceman: no nvcc found, building without CUDA")
  endif()
elseif(_voiceman_cuda MATCHES "^(ON|YES|TRUE|1)$")
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    message(FATAL_ERROR "VOICEMAN_CUDA=ON but no CUDA compiler was found (set CUDACXX)")
  endif()
  set(VOICEMAN_WITH_CUDA ON)
elseif(NOT _voiceman_cuda MATCHES "^(OFF|NO|FALSE|0)$")
  message(FATAL_ERROR "VOICEMAN_CUDA must be AUTO, ON or OFF (got '${VOICEMAN_CUDA}')")
endif()

if(VOICEMAN_WITH_CUDA)
  # Ampere, Hopper, Blackwell (B200, RTX 50, GB10) as cubins, plus PTX of the newest for
  # what comes next. Must be set before enable_language, which otherwise picks one.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;100-real;120-real;121-real;121-virtual")
  endif()
  enable_language(CUDA)
  # CMake 3.25 does not know that nvcc 13 takes C++20; tell it the flag.
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "voiceman: CUDA ${CUDAToolkit_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()
