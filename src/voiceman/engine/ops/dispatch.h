#pragma once
// Routes an op to its CPU or CUDA implementation from the explicit ExecContext.
// CPU kernels live in namespace cpu (files *_cpu.cc), CUDA ones in namespace cuda
// (files *_cuda.cu, compiled only with VOICEMAN_CUDA).
#include <string>

#include "voiceman/core/device.h"
#include "voiceman/core/errors.h"
#include "voiceman/core/tensor.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/ops/ops_cuda.h"
#endif

namespace voiceman::ops {

[[noreturn]] inline void no_backend(const ExecContext& ctx, const char* op) {
  throw DeviceError(std::string("op ") + op + " has no implementation for device " +
                    ctx.device.str() + " in this build");
}

// Index tables given as tensors (see ops.h) are int32 [rows] on the op's device.
inline void check_index_table(const ExecContext& ctx, const char* op, const Tensor& table,
                              int64_t rows) {
  if (table.dtype() != DType::i32 || table.rank() != 1 || table.dim(0) != rows ||
      (rows > 0 && table.device() != ctx.device))
    throw Error(std::string(op) + ": index tables must be int32 [" + std::to_string(rows) +
                "] on " + ctx.device.str());
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
