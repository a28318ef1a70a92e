#include <string>

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

}  // namespace voiceman::ops
