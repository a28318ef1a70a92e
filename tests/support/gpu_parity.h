#pragma once
// Shared pieces of the CUDA-versus-CPU parity tests (test_engine_gpu): the fixture that
// skips without a device, seeded random inputs, the precisions compared with their
// tolerances, and moving float32 tensors to the GPU in a compute dtype and back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/parity_error.h"
#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::testing {

// Base of the GPU test fixtures: their tests are skipped where no CUDA device is present.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (voiceman::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

// float32 values drawn from Normal(mean, stddev), the same for a given seed on every run.
inline Tensor normal_tensor(Shape shape, uint32_t seed, float mean, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  Tensor t(std::move(shape));
  for (float& v : t.span<float>()) v = dist(rng);
  return t;
}

struct Precision {
  DType dtype;
  double tolerance;
};
inline constexpr Precision kPrecisions[] = {
    {DType::f32, 1e-4}, {DType::f16, 4e-3}, {DType::bf16, 3e-2}};

inline ExecContext gpu() {
  ExecContext ctx;
  ctx.device = Device::cuda(0);
  return ctx;
}

// x rounded to dtype and back: the values both backends see.
inline Tensor rounded(const Tensor& x, DType dtype) {
  if (dtype == DType::f32) return x.clone();
  Tensor low, back;
  ops::cast(ExecContext{}, x, dtype, low);
  ops::cast(ExecContext{}, low, DType::f32, back);
  return back;
}

// An int32 index table on cuda:0.
inline Tensor device_table(const std::vector<int32_t>& values) {
  Tensor t({static_cast<int64_t>(values.size())}, DType::i32);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t.to(Device::cuda(0));
}

// x in dtype on cuda:0.
inline Tensor upload(const Tensor& x, DType dtype) {
  Tensor low;
  ops::cast(ExecContext{}, x, dtype, low);
  return low.to(Device::cuda(0));
}

// A tensor on cuda:0 with every byte 0xff: NaN in float32, float16 and bfloat16. Given
// to a kernel as its output, whatever it leaves unwritten fails expect_close
// (parity_error.h), where a reused pool block could still hold an earlier right answer.
inline Tensor unwritten(const Shape& shape, DType dtype) {
  Tensor host(shape, dtype);
  if (host.bytes()) std::memset(host.data<char>(), 0xff, host.bytes());
  return host.to(Device::cuda(0));
}

// A GPU tensor as float32 on the host.
inline Tensor download(const Tensor& x) {
  Tensor host = x.to(Device::cpu());
  if (host.dtype() == DType::f32) return host;
  Tensor f;
  ops::cast(ExecContext{}, host, DType::f32, f);
  return f;
}

// max |got - want| / max |want| over float32 host tensors of the same shape; infinity for
// a NaN or infinity that the reference does not have (parity_error.h).
inline double relative_error(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  if (got.numel() != want.numel()) return std::numeric_limits<double>::infinity();
  return relative_error(got.data<float>(), want.data<float>(), static_cast<size_t>(want.numel()));
}

// Checks and prints one parity figure (gpu-check.sh collects the [parity] lines).
inline void expect_close(const char* what, double tolerance, const std::string& dtype,
                         const Tensor& got, const Tensor& want) {
  const double err = relative_error(got, want);
  std::printf("[parity] %-28s %-9s rel_err %.2e (tolerance %.0e)\n", what, dtype.c_str(), err,
              tolerance);
  EXPECT_LE(err, tolerance) << what << " in " << dtype;
}

// The same for a result still on the GPU, computed in p.dtype.
inline void expect_close(const char* what, const Precision& p, const Tensor& got_device,
                         const Tensor& want) {
  expect_close(what, p.tolerance, dtype_name(p.dtype), download(got_device), want);
}

// The CPU's cached_attention (k and v Tensors or QuantizedCaches), which takes only rows
// with keys to see; a row with nothing visible gets zeros, as on the GPU.
template <typename Cache>
Tensor cpu_cached_attention(const Tensor& q, const Cache& k, const Cache& v,
                            const std::vector<int32_t>& index, const std::vector<int32_t>& lengths,
                            int heads) {
  const int64_t model = q.dim(1);
  std::vector<int64_t> kept;
  std::vector<int32_t> kept_index, kept_lengths;
  for (size_t r = 0; r < lengths.size(); ++r)
    if (lengths[r] > 0) {
      kept.push_back(static_cast<int64_t>(r));
      kept_index.push_back(index[r]);
      kept_lengths.push_back(lengths[r]);
    }
  Tensor want = Tensor::zeros(q.shape());
  if (kept.empty()) return want;
  Tensor sub({static_cast<int64_t>(kept.size()), model}), part;
  for (size_t i = 0; i < kept.size(); ++i)
    std::memcpy(sub.data<float>() + i * model, q.data<float>() + kept[i] * model,
                sizeof(float) * model);
  ExecContext cpu;
  cpu.threads = 2;
  ops::cached_attention(cpu, sub, k, v, kept_index, kept_lengths, heads, part);
  for (size_t i = 0; i < kept.size(); ++i)
    std::memcpy(want.data<float>() + kept[i] * model, part.data<float>() + i * model,
                sizeof(float) * model);
  return want;
}

}  // namespace voiceman::testing
