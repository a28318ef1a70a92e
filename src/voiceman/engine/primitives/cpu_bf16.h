#pragma once
// Multi-head attention of one sequence with bfloat16 products on CPUs that multiply
// bfloat16 natively (AVX512-BF16): Q K^T and P V take bf16 inputs and accumulate in
// float32, the softmax is computed in float32. About 2.4x the float32 GEMM rate where the
// encoder spends most of its time (measured: 6 heads of 1500 x 1500, 2 threads). Only
// the int8_bfloat16 compute type uses it.
#include <cstdint>
#include <memory>

namespace voiceman::primitives::cpu {

// True when oneDNN is built in and the CPU has native bf16 dot products.
bool bf16_gemm_supported();

// q [tq, model], k/v [tk, model] with heads interleaved (head h at columns h*dh...),
// out [tq, model]: softmax(scale * Q K^T) V per head. Throws std::runtime_error when
// unsupported.
void attention_bf16(const float* q, const float* k, const float* v, float* out, int64_t tq,
                    int64_t tk, int64_t model, int heads, float scale, int threads);

// C[m x n] (float32) = A[m x k] * B[n x k]^T with bfloat16 A and B, float32 accumulation:
// one shape prepared once, then run many times (an LSTM's recurrent step runs it once per
// timestep). B is borrowed and must outlive the object; run() is for one thread at a
// time (it re-points its cached memories). Throws std::runtime_error when
// bf16_gemm_supported() is false.
class Bf16GemmNT {
 public:
  Bf16GemmNT(int64_t m, int64_t n, int64_t k, const uint16_t* b, int threads);
  ~Bf16GemmNT();
  Bf16GemmNT(const Bf16GemmNT&) = delete;
  Bf16GemmNT& operator=(const Bf16GemmNT&) = delete;
  void run(const uint16_t* a, float* c) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voiceman::primitives::cpu
