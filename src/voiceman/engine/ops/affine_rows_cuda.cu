#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/ops/ops_cuda.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"

namespace voiceman::ops::cuda {

namespace prim = primitives::cuda;

namespace {

constexpr int kThreads = 256;

// In place: element i of row i / width becomes x * scale[row] + shift[row].
template <typename T>
__global__ void affine_rows_kernel(T* x, const float* scale, const float* shift, int64_t width,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / width;
    x[i] = prim::from_float<T>(prim::to_float(x[i]) * scale[r] + shift[r]);
  }
}

}  // namespace

void affine_rows(const ExecContext& ctx, Tensor& x, const Tensor& scale, const Tensor& shift) {
  enter(ctx, "affine_rows", {&x, &scale, &shift});
  const int64_t n = x.numel(), rows = scale.numel();
  if (!n || !rows) return;
  prim::with_float_type(x.dtype(), "affine_rows", [&](auto tag) {
    using T = decltype(tag);
    affine_rows_kernel<T>
        <<<prim::grid_for(n, kThreads), kThreads, 0, voiceman::cuda::stream_of(ctx)>>>(
            x.data<T>(), scale.data<float>(), shift.data<float>(), n / rows, n);
  });
  voiceman::cuda::check_launch("affine_rows");
}

}  // namespace voiceman::ops::cuda
