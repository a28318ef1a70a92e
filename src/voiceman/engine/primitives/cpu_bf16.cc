#include "voiceman/engine/primitives/cpu_bf16.h"

#include <omp.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/engine/primitives/fast_math.h"
#include "voiceman/engine/primitives/simd.h"

#ifdef VOICEMAN_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace voiceman::primitives::cpu {

#ifdef VOICEMAN_HAVE_DNNL
namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// Row softmax of float32 scores, written out as bfloat16 probabilities (each row is
// converted while it is still in cache).
VOICEMAN_MULTIVERSION void softmax_to_bf16(float* scores, uint16_t* probs, int64_t rows,
                                           int64_t cols, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = scores + r * cols;
    softmax_inplace(row, cols);
    uint16_t* out = probs + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) out[j] = float_to_bf16(row[j]);
  }
}

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace

bool bf16_gemm_supported() {
  static const bool ok = [] {
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
  }();
  return ok;
}

void attention_bf16(const float* q, const float* k, const float* v, float* out, int64_t tq,
                    int64_t tk, int64_t model, int heads, float scale, int threads) {
  const int64_t dh = model / heads;
  threads = threads > 0 ? threads : 1;
  omp_set_num_threads(threads);  // oneDNN runs on the caller's OpenMP pool
  std::vector<uint16_t> qb(static_cast<size_t>(tq * model)), kb(static_cast<size_t>(tk * model)),
      vb(static_cast<size_t>(tk * model)), probs(static_cast<size_t>(tq * tk));
  std::vector<float> scores(static_cast<size_t>(tq * tk));
  float_to_bf16(q, qb.data(), static_cast<size_t>(tq * model));
  float_to_bf16(k, kb.data(), static_cast<size_t>(tk * model));
  float_to_bf16(v, vb.data(), static_cast<size_t>(tk * model));

  const dnnl::engine& eng = cpu_engine();
  dnnl::stream stream(eng);
  // One head at a time, read in place from the interleaved [t, model] layout.
  const dnnl::memory::desc q_md(dims{tq, dh}, dt::bf16, dims{model, 1});
  const dnnl::memory::desc kt_md(dims{dh, tk}, dt::bf16, dims{1, model});
  const dnnl::memory::desc s_md(dims{tq, tk}, dt::f32, dims{tk, 1});
  const dnnl::memory::desc p_md(dims{tq, tk}, dt::bf16, dims{tk, 1});
  const dnnl::memory::desc v_md(dims{tk, dh}, dt::bf16, dims{model, 1});
  const dnnl::memory::desc o_md(dims{tq, dh}, dt::f32, dims{model, 1});
  dnnl::primitive_attr scaled;
  scaled.set_output_scales(0, {scale});
  // oneDNN caches created primitives: the same shapes do not JIT again.
  const dnnl::matmul qk(
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, kt_md, s_md), scaled, eng));
  const dnnl::matmul pv(dnnl::matmul::primitive_desc(dnnl::matmul::desc(p_md, v_md, o_md), eng));
  for (int h = 0; h < heads; ++h) {
    dnnl::memory q_mem(q_md, eng, qb.data() + h * dh), k_mem(kt_md, eng, kb.data() + h * dh),
        s_mem(s_md, eng, scores.data()), p_mem(p_md, eng, probs.data()),
        v_mem(v_md, eng, vb.data() + h * dh), o_mem(o_md, eng, out + h * dh);
    qk.execute(stream, {{DNNL_ARG_SRC, q_mem}, {DNNL_ARG_WEIGHTS, k_mem}, {DNNL_ARG_DST, s_mem}});
    stream.wait();
    softmax_to_bf16(scores.data(), probs.data(), tq, tk, threads);
    pv.execute(stream, {{DNNL_ARG_SRC, p_mem}, {DNNL_ARG_WEIGHTS, v_mem}, {DNNL_ARG_DST, o_mem}});
    stream.wait();
  }
}

// The primitive, its stream and the weights' memory are made once; each run only points
// the A and C memories at the caller's buffers.
struct Bf16GemmNT::Impl {
  dnnl::matmul matmul;
  dnnl::stream stream;
  dnnl::memory a, b, c;
  int threads;
};

Bf16GemmNT::Bf16GemmNT(int64_t m, int64_t n, int64_t k, const uint16_t* b, int threads) {
  if (!bf16_gemm_supported()) throw std::runtime_error("bf16 GEMM: no native bf16 on this CPU");
  const dnnl::engine& eng = cpu_engine();
  const dnnl::memory::desc a_md(dims{m, k}, dt::bf16, dims{k, 1});
  const dnnl::memory::desc b_md(dims{k, n}, dt::bf16, dims{1, k});  // B^T read in place
  const dnnl::memory::desc c_md(dims{m, n}, dt::f32, dims{n, 1});
  impl_ = std::make_unique<Impl>(
      Impl{dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), eng)),
           dnnl::stream(eng), dnnl::memory(a_md, eng, DNNL_MEMORY_NONE),
           dnnl::memory(b_md, eng, const_cast<uint16_t*>(b)),
           dnnl::memory(c_md, eng, DNNL_MEMORY_NONE), threads > 0 ? threads : 1});
}

Bf16GemmNT::~Bf16GemmNT() = default;

void Bf16GemmNT::run(const uint16_t* a, float* c) const {
  omp_set_num_threads(impl_->threads);  // oneDNN runs on the caller's OpenMP pool
  impl_->a.set_data_handle(const_cast<uint16_t*>(a));
  impl_->c.set_data_handle(c);
  impl_->matmul.execute(
      impl_->stream,
      {{DNNL_ARG_SRC, impl_->a}, {DNNL_ARG_WEIGHTS, impl_->b}, {DNNL_ARG_DST, impl_->c}});
  impl_->stream.wait();
}

#else

bool bf16_gemm_supported() { return false; }

struct Bf16GemmNT::Impl {};
Bf16GemmNT::Bf16GemmNT(int64_t, int64_t, int64_t, const uint16_t*, int) {
  throw std::runtime_error("bf16 GEMM needs oneDNN");
}
Bf16GemmNT::~Bf16GemmNT() = default;
void Bf16GemmNT::run(const uint16_t*, float*) const {}

void attention_bf16(const float*, const float*, const float*, float*, int64_t, int64_t, int64_t,
                    int, float, int) {
  throw std::runtime_error("bf16 attention needs oneDNN");
}

#endif

}  // namespace voiceman::primitives::cpu
