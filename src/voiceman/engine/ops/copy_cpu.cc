#include <cstring>

#include "voiceman/engine/ops/ops_cpu.h"

namespace voiceman::ops::cpu {

void copy_rows(const ExecContext& ctx, const Tensor& src, int64_t src_offset, int64_t src_pitch,
               Tensor& dst, int64_t dst_offset, int64_t dst_pitch, int64_t rows, int64_t width) {
  const size_t es = dtype_size(src.dtype());
  const char* s = src.data<char>() + src_offset * es;
  char* d = dst.data<char>() + dst_offset * es;
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(d + r * dst_pitch * es, s + r * src_pitch * es, width * es);
}

void copy_runs(const ExecContext& ctx, const Tensor& src, std::span<const int64_t> src_offsets,
               Tensor& dst, std::span<const int64_t> dst_offsets, std::span<const int64_t> widths) {
  const size_t es = dtype_size(src.dtype());
  for (size_t r = 0; r < widths.size(); ++r)
    std::memcpy(dst.data<char>() + dst_offsets[r] * es, src.data<char>() + src_offsets[r] * es,
                widths[r] * es);
}

void cache_append(const ExecContext& ctx, const Tensor& src, int64_t column,
                  std::span<const int32_t> positions, Tensor& cache) {
  const size_t es = dtype_size(src.dtype());
  const int64_t width = src.dim(1), d = cache.dim(2), capacity = cache.dim(1);
  for (size_t r = 0; r < positions.size(); ++r)
    std::memcpy(cache.data<char>() + ((r * capacity + positions[r]) * d) * es,
                src.data<char>() + (r * width + column) * es, d * es);
}

}  // namespace voiceman::ops::cpu
