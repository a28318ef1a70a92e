#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "voiceman/engine/ops/dispatch.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops {
namespace {

void check_run(const char* op, const Tensor& t, int64_t offset, int64_t width) {
  if (offset < 0 || width < 0 || offset + width > t.numel())
    throw Error(std::string(op) + ": elements [" + std::to_string(offset) + ", " +
                std::to_string(offset + width) + ") outside a tensor of " +
                std::to_string(t.numel()));
}

void check_pair(const char* op, const Tensor& src, const Tensor& dst) {
  if (src.dtype() != dst.dtype())
    throw Error(std::string(op) + ": " + dtype_name(src.dtype()) + " into " +
                dtype_name(dst.dtype()));
}

}  // namespace

void copy_rows(const ExecContext& ctx, const Tensor& src, int64_t src_offset, int64_t src_pitch,
               Tensor& dst, int64_t dst_offset, int64_t dst_pitch, int64_t rows, int64_t width) {
  check_pair("copy_rows", src, dst);
  if (rows <= 0 || width <= 0) return;
  if (rows > 1 && (src_pitch < width || dst_pitch < width))
    throw Error("copy_rows: pitch smaller than the run width");
  check_run("copy_rows", src, src_offset, (rows - 1) * src_pitch + width);
  check_run("copy_rows", dst, dst_offset, (rows - 1) * dst_pitch + width);
  VOICEMAN_DISPATCH(ctx, copy_rows, ctx, src, src_offset, src_pitch, dst, dst_offset, dst_pitch,
                    rows, width);
}

void copy_runs(const ExecContext& ctx, const Tensor& src, std::span<const int64_t> src_offsets,
               Tensor& dst, std::span<const int64_t> dst_offsets, std::span<const int64_t> widths) {
  check_pair("copy_runs", src, dst);
  if (src_offsets.size() != widths.size() || dst_offsets.size() != widths.size())
    throw Error("copy_runs: offsets and widths differ in length");
  for (size_t r = 0; r < widths.size(); ++r) {
    check_run("copy_runs", src, src_offsets[r], widths[r]);
    check_run("copy_runs", dst, dst_offsets[r], widths[r]);
  }
  if (widths.empty()) return;
  VOICEMAN_DISPATCH(ctx, copy_runs, ctx, src, src_offsets, dst, dst_offsets, widths);
}

void copy_runs(const ExecContext& ctx, const Tensor& src, const Tensor& runs, Tensor& dst) {
  check_pair("copy_runs", src, dst);
  if (runs.dtype() != DType::i32 || runs.rank() != 1 || runs.numel() % 6 != 0 ||
      (runs.numel() > 0 && runs.device() != ctx.device))
    throw Error("copy_runs: the run table must be int32 [6 * runs] on " + ctx.device.str());
  // The GPU reads the table as int64: a slice must start on an 8-byte boundary.
  if (runs.numel() > 0 && reinterpret_cast<uintptr_t>(runs.data<int32_t>()) % 8 != 0)
    throw Error("copy_runs: the run table must start 8-byte aligned");
  const int64_t n = runs.numel() / 6;
  if (n == 0) return;
  if (ctx.device.is_cpu()) {
    std::vector<int64_t> t(static_cast<size_t>(3 * n));
    std::memcpy(t.data(), runs.data<int32_t>(), t.size() * sizeof(int64_t));
    const std::span<const int64_t> all(t);
    return copy_runs(ctx, src, all.subspan(0, n), dst, all.subspan(n, n), all.subspan(2 * n, n));
  }
#ifdef VOICEMAN_CUDA
  cuda::copy_runs(ctx, src, runs, dst);
#else
  no_backend(ctx, "copy_runs");
#endif
}

void cache_append(const ExecContext& ctx, const Tensor& src, int64_t column,
                  const Tensor& positions, Tensor& cache) {
  check_pair("cache_append", src, cache);
  if (src.rank() != 2 || cache.rank() != 3 || column < 0 || column + cache.dim(2) > src.dim(1) ||
      src.dim(0) > cache.dim(0))
    throw Error("cache_append: bad shapes src" + shape_str(src.shape()) + " cache" +
                shape_str(cache.shape()) + " at column " + std::to_string(column));
  check_index_table(ctx, "cache_append", positions, src.dim(0));
  if (!src.dim(0)) return;
  // A GPU's kernel clamps device positions, so a cache with no positions is refused here.
  if (cache.dim(1) == 0)
    throw Error("cache_append: " + std::to_string(src.dim(0)) + " rows into an empty cache " +
                shape_str(cache.shape()));
  if (ctx.device.is_cpu()) {
    const auto at = positions.span<int32_t>();
    for (int32_t p : at)
      if (p < 0 || p >= cache.dim(1)) throw Error("cache_append: position outside the cache");
    return cpu::cache_append(ctx, src, column, at, cache);
  }
#ifdef VOICEMAN_CUDA
  cuda::cache_append(ctx, src, column, positions, cache);
#else
  no_backend(ctx, "cache_append");
#endif
}

}  // namespace voiceman::ops
