#pragma once
// Routes an op to its CPU or CUDA implementation from the explicit ExecContext.
// CPU kernels live in namespace cpu (files *_cpu.cc), CUDA ones in namespace cuda
// (files *_cuda.cu, compiled only with VOICEMAN_CUDA).
#include <string>

#include "voiceman/core/device.h"
#include "voiceman/core/errors.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/ops/ops_cuda.h"
#endif

namespace voiceman::ops {

[[noreturn]] inline void no_backend(const ExecContext& ctx, const char* op) {
  throw DeviceError(std::string("op ") + op + " has no implementation for device " +
                    ctx.device.str() + " in this build");
}

}  // namespace voiceman::ops

#ifdef VOICEMAN_CUDA
#define VOICEMAN_DISPATCH(ctx, fn, ...)                                      \
  do {                                                                       \
    if ((ctx).device.is_cpu()) return ::voiceman::ops::cpu::fn(__VA_ARGS__); \
    return ::voiceman::ops::cuda::fn(__VA_ARGS__);                           \
  } while (0)
#else
#define VOICEMAN_DISPATCH(ctx, fn, ...)                                      \
  do {                                                                       \
    if ((ctx).device.is_cpu()) return ::voiceman::ops::cpu::fn(__VA_ARGS__); \
    ::voiceman::ops::no_backend((ctx), #fn);                                 \
  } while (0)
#endif
