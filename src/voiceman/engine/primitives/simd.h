#pragma once
// Hot CPU loops are compiled for several x86-64 levels and picked at load time, so one
// portable binary still uses AVX2/AVX-512 where the CPU has them; and the 8-float vector
// that the built-in GEMMs (cpu_gemm_portable.cc, cpu_gemm_uniform.cc) compute with.
#include <cstring>

// Not under ThreadSanitizer: its instrumentation breaks the ifunc resolvers, which run
// before it is initialised.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define VOICEMAN_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VOICEMAN_MULTIVERSION
#endif

// The vectors never cross a call boundary of their own: no ABI concerns.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace voiceman::primitives::cpu {

// Eight floats in one GCC vector. Inlined into each target clone, which compiles it for
// its own ISA (two SSE registers in the baseline clone, one AVX register above it).
using v8 = float __attribute__((vector_size(32)));

// Unaligned, through memcpy: the compiler picks the clone's widest move.
[[gnu::always_inline]] inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

}  // namespace voiceman::primitives::cpu

#pragma GCC diagnostic pop
