#include <vector>

#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"

namespace voiceman::ops::cuda {

using voiceman::cuda::check;
using voiceman::cuda::check_launch;
using voiceman::cuda::stream_of;

namespace {

// One block per run; the element type only sets the copy width (1, 2 or 4 bytes).
template <typename U>
__global__ void copy_runs_kernel(const U* src, const int64_t* table, int64_t runs, U* dst) {
  const int64_t r = blockIdx.x;
  const int64_t from = table[r], to = table[runs + r], width = table[2 * runs + r];
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) dst[to + i] = src[from + i];
}

// The same from a table on the device: each run is clamped into both tensors.
template <typename U>
__global__ void copy_runs_clamped_kernel(const U* src, int64_t src_n, const int64_t* table,
                                         int64_t runs, U* dst, int64_t dst_n) {
  const int64_t r = blockIdx.x;
  const int64_t from = table[r], to = table[runs + r];
  if (from < 0 || to < 0 || from >= src_n || to >= dst_n) return;
  const int64_t width = min(table[2 * runs + r], min(src_n - from, dst_n - to));
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) dst[to + i] = src[from + i];
}

// Row r's D elements (from column `column` of a src row of `width`) go to position
// positions[r] of cache slot r; positions are clamped into the capacity.
template <typename U>
__global__ void cache_append_kernel(const U* src, int64_t width, int64_t column,
                                    const int32_t* positions, int64_t capacity, int64_t d,
                                    U* cache) {
  const int64_t r = blockIdx.x;
  const int64_t at = min(max(int64_t{positions[r]}, int64_t{0}), capacity - 1);
  const U* from = src + r * width + column;
  U* to = cache + (r * capacity + at) * d;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) to[i] = from[i];
}

}  // namespace

void copy_runs(const ExecContext& ctx, const Tensor& src, const Tensor& runs, Tensor& dst) {
  enter(ctx, "copy_runs", {&src, &runs, &dst});
  const int64_t n = runs.numel() / 6, src_n = src.numel(), dst_n = dst.numel();
  const auto* t = reinterpret_cast<const int64_t*>(runs.data<int32_t>());
  const unsigned grid = static_cast<unsigned>(n);
  switch (dtype_size(src.dtype())) {
    case 1:
      copy_runs_clamped_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint8_t>(), src_n, t, n,
                                                                 dst.data<uint8_t>(), dst_n);
      break;
    case 2:
      copy_runs_clamped_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint16_t>(), src_n, t, n,
                                                                 dst.data<uint16_t>(), dst_n);
      break;
    default:
      copy_runs_clamped_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint32_t>(), src_n, t, n,
                                                                 dst.data<uint32_t>(), dst_n);
  }
  check_launch("copy_runs");
}

void cache_append(const ExecContext& ctx, const Tensor& src, int64_t column,
                  const Tensor& positions, Tensor& cache) {
  enter(ctx, "cache_append", {&src, &positions, &cache});
  const int64_t rows = src.dim(0), width = src.dim(1), capacity = cache.dim(1), d = cache.dim(2);
  if (!rows || !capacity || !d) return;
  const unsigned grid = static_cast<unsigned>(rows);
  const int32_t* at = positions.data<int32_t>();
  switch (dtype_size(src.dtype())) {
    case 1:
      cache_append_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint8_t>(), width, column, at,
                                                            capacity, d, cache.data<uint8_t>());
      break;
    case 2:
      cache_append_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint16_t>(), width, column, at,
                                                            capacity, d, cache.data<uint16_t>());
      break;
    default:
      cache_append_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint32_t>(), width, column, at,
                                                            capacity, d, cache.data<uint32_t>());
  }
  check_launch("cache_append");
}

void copy_rows(const ExecContext& ctx, const Tensor& src, int64_t src_offset, int64_t src_pitch,
               Tensor& dst, int64_t dst_offset, int64_t dst_pitch, int64_t rows, int64_t width) {
  enter(ctx, "copy_rows", {&src, &dst});
  const size_t es = dtype_size(src.dtype());
  if (rows == 1) src_pitch = dst_pitch = width;  // pitches are irrelevant for one run
  check(cudaMemcpy2DAsync(dst.data<char>() + dst_offset * es, dst_pitch * es,
                          src.data<char>() + src_offset * es, src_pitch * es, width * es, rows,
                          cudaMemcpyDeviceToDevice, stream_of(ctx)),
        "copy_rows");
}

void copy_runs(const ExecContext& ctx, const Tensor& src, std::span<const int64_t> src_offsets,
               Tensor& dst, std::span<const int64_t> dst_offsets, std::span<const int64_t> widths) {
  enter(ctx, "copy_runs", {&src, &dst});
  const int64_t runs = static_cast<int64_t>(widths.size());
  std::vector<int64_t> host;
  host.reserve(3 * runs);
  host.insert(host.end(), src_offsets.begin(), src_offsets.end());
  host.insert(host.end(), dst_offsets.begin(), dst_offsets.end());
  host.insert(host.end(), widths.begin(), widths.end());
  Tensor table({3 * runs * 2}, DType::i32, ctx.device);  // int64s (there is no i64 dtype)
  voiceman::cuda::upload(ctx, table.data<char>(), host.data(), host.size() * sizeof(int64_t));
  const auto* t = reinterpret_cast<const int64_t*>(table.data<char>());
  const unsigned grid = static_cast<unsigned>(runs);
  switch (dtype_size(src.dtype())) {
    case 1:
      copy_runs_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint8_t>(), t, runs,
                                                         dst.data<uint8_t>());
      break;
    case 2:
      copy_runs_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint16_t>(), t, runs,
                                                         dst.data<uint16_t>());
      break;
    default:
      copy_runs_kernel<<<grid, 128, 0, stream_of(ctx)>>>(src.data<uint32_t>(), t, runs,
                                                         dst.data<uint32_t>());
  }
  check_launch("copy_runs");
}

}  // namespace voiceman::ops::cuda
