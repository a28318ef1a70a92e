#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

#include "voiceman/cli/cli.h"
#include "voiceman/cli/signals.h"

int main(int argc, char** argv) {
  // OpenMP threads that spin while waiting turn a busy two-core machine into a 10x slowdown
  // (measured: 1.3 s vs 12 s for jfk.flac under load). libgomp reads its wait policy before
  // main runs, so set it and restart once; an explicit user setting is respected.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
  }
  // The engine frees and re-allocates the same large activation buffers every decoder
  // step; glibc would hand each back to the kernel (mmap/trim) and page-fault it in again
  // (16% of a CPU profile). Keep freed memory in the heap instead; the run's RAM governor
  // still returns it with malloc_trim when memory gets tight.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Before any thread exists, so that every thread inherits the blocked stop signals.
  voiceman::cli::watch_stop_signals();
  return voiceman::cli::main(argc, argv);
}
