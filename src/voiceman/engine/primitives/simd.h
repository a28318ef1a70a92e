#pragma once
// Hot CPU loops are compiled for several x86-64 levels and picked at load time, so one
// portable binary still uses AVX2/AVX-512 where the CPU has them.
// Not under ThreadSanitizer: its instrumentation breaks the ifunc resolvers, which run
// before it is initialised.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define VOICEMAN_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VOICEMAN_MULTIVERSION
#endif
