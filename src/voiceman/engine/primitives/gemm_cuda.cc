// Row-major GEMMs on column-major cuBLAS: a row-major M x N matrix is the column-major
// N x M matrix, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T.
#include <map>
#include <memory>
#include <tuple>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/primitives/cuda_gemm.h"

namespace voiceman::primitives::cuda {

using voiceman::cuda::check_blas;
using voiceman::cuda::stream_state;

namespace {

cudaDataType cuda_type(DType t) {
  switch (t) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f16:
      return CUDA_R_16F;
    case DType::bf16:
      return CUDA_R_16BF;
    case DType::i8:
      return CUDA_R_8I;
    case DType::i32:
      return CUDA_R_32I;
    default:
      throw Error("cuda gemm: unsupported dtype " + dtype_name(t));
  }
}

// Largest power of two (up to 256) dividing the address: cuBLASLt's heuristics assume
// 256-byte aligned operands unless told otherwise, and row slices are not.
uint32_t alignment(const void* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && addr % a) a /= 2;
  return a;
}

// A cached cuBLASLt problem: descriptors plus the heuristic's algorithm.
struct LtPlan {
  const voiceman::cuda::CublasApi* api = nullptr;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool found = false;
  ~LtPlan() {
    if (desc) api->cublasLtMatmulDescDestroy(desc);
    if (w) api->cublasLtMatrixLayoutDestroy(w);
    if (x) api->cublasLtMatrixLayoutDestroy(x);
    if (y) api->cublasLtMatrixLayoutDestroy(y);
  }
};

using PlanKey =
    std::tuple<cublasLtHandle_t, int, int, int, int, bool, uint32_t, uint32_t, uint32_t, uint32_t>;

LtPlan& lt_plan(const voiceman::cuda::CublasApi& api, cublasLtHandle_t lt, size_t workspace, int m,
                int n, int k, DType dtype, bool bias, uint32_t align_x, uint32_t align_w,
                uint32_t align_y, uint32_t align_b) {
  // Per thread, like the handles: the decoder asks for the same few shapes every step.
  thread_local std::map<PlanKey, std::unique_ptr<LtPlan>> plans;
  const PlanKey key{lt, m, n, k, static_cast<int>(dtype), bias, align_x, align_w, align_y, align_b};
  auto& slot = plans[key];
  if (slot) return *slot;
  slot = std::make_unique<LtPlan>();
  LtPlan& p = *slot;
  p.api = &api;
  const cudaDataType t = cuda_type(dtype);
  check_blas(api.cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "Lt desc");
  const cublasOperation_t op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N;
  check_blas(
      api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_t, sizeof op_t),
      "Lt transa");
  check_blas(
      api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof op_n),
      "Lt transb");
  if (bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    check_blas(api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                  sizeof epilogue),
               "Lt epilogue");
    check_blas(api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &t,
                                                  sizeof t),
               "Lt bias type");
  }
  // Column-major views: W^T is k x n (ld k), x^T is k x m (ld k), y^T is n x m (ld n).
  check_blas(api.cublasLtMatrixLayoutCreate(&p.w, t, k, n, k), "Lt layout w");
  check_blas(api.cublasLtMatrixLayoutCreate(&p.x, t, k, m, k), "Lt layout x");
  check_blas(api.cublasLtMatrixLayoutCreate(&p.y, t, n, m, n), "Lt layout y");
  cublasLtMatmulPreference_t pref = nullptr;
  check_blas(api.cublasLtMatmulPreferenceCreate(&pref), "Lt preference");
  const uint64_t ws = workspace;
  api.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                           sizeof ws);
  api.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                           &align_w, sizeof align_w);
  api.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                           &align_x, sizeof align_x);
  api.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                           &align_y, sizeof align_y);
  api.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                           &align_y, sizeof align_y);
  // Split-K partial sums in float32 (the compute type), never in the half-precision output.
  const uint32_t reductions =
      CUBLASLT_REDUCTION_SCHEME_NONE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
  api.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                           &reductions, sizeof reductions);
  (void)align_b;  // part of the key: the bias pointer's alignment can change the choice
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t rc =
      api.cublasLtMatmulAlgoGetHeuristic(lt, p.desc, p.w, p.x, p.y, p.y, pref, 1, &result, &found);
  api.cublasLtMatmulPreferenceDestroy(pref);
  if (rc == CUBLAS_STATUS_SUCCESS && found > 0) {
    p.algo = result.algo;
    p.found = true;
  }
  return p;
}

}  // namespace

void gemm(const ExecContext& ctx, const GemmArgs& g) {
  if (g.m == 0 || g.n == 0) return;
  auto& h = stream_state(ctx);
  const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_blas(
      h.api->cublasGemmStridedBatchedEx(
          h.blas, op_b, op_a, g.n, g.m, g.k, &g.alpha, g.b, cuda_type(g.ab_type),
          static_cast<int>(g.ldb), g.stride_b, g.a, cuda_type(g.ab_type), static_cast<int>(g.lda),
          g.stride_a, &g.beta, g.c, cuda_type(g.c_type), static_cast<int>(g.ldc), g.stride_c,
          g.batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      "cublasGemmStridedBatchedEx");
}

bool linear_lt(const ExecContext& ctx, int m, int n, int k, const void* x, const void* w,
               const void* bias, void* y, DType dtype, bool accumulate) {
  if (m == 0 || n == 0) return true;
  auto& h = stream_state(ctx);
  LtPlan& p = lt_plan(*h.api, h.lt, h.workspace_bytes, m, n, k, dtype, bias != nullptr,
                      alignment(x), alignment(w), alignment(y), bias ? alignment(bias) : 256);
  if (!p.found) return false;
  if (bias)
    check_blas(h.api->cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                     &bias, sizeof bias),
               "Lt bias pointer");
  // C and D are both y (in place, one layout): beta 1 adds y's old values.
  const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
  check_blas(
      h.api->cublasLtMatmul(h.lt, p.desc, &alpha, w, p.w, x, p.x, &beta, y, p.y, y, p.y, &p.algo,
                            h.workspace, h.workspace_bytes, voiceman::cuda::stream_of(ctx)),
      "cublasLtMatmul");
  return true;
}

bool gemm_s8(const ExecContext& ctx, int m, int n, int k, const int8_t* a, const int8_t* b,
             int32_t* acc) {
  if (m == 0 || n == 0) return true;
  auto& h = stream_state(ctx);
  const int32_t alpha = 1, beta = 0;
  // Column-major acc^T[n x m] = B[n x k] * A^T: "TN", the layout int8 tensor cores need.
  const cublasStatus_t rc = h.api->cublasGemmEx(
      h.blas, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, b, CUDA_R_8I, k, a, CUDA_R_8I, k, &beta,
      acc, CUDA_R_32I, n, CUBLAS_COMPUTE_32I, CUBLAS_GEMM_DEFAULT);
  if (rc == CUBLAS_STATUS_NOT_SUPPORTED || rc == CUBLAS_STATUS_INVALID_VALUE) return false;
  check_blas(rc, "cublasGemmEx int8");
  return true;
}

}  // namespace voiceman::primitives::cuda
