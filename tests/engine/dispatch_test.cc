// The op/device layering, on the CPU: where outputs are allocated, what a CUDA context
// does in a build or on a machine without CUDA, the cast op, and the GPU probe's
// fallback. The CUDA kernels themselves are covered by *_gpu_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/cuda/nvml.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/runtime.h"
#endif

namespace voiceman::ops {
namespace {

bool have_gpu() {
#ifdef VOICEMAN_CUDA
  return voiceman::cuda::device_count() > 0;
#else
  return false;
#endif
}

ExecContext cuda_ctx(int index = 0) {
  ExecContext ctx;
  ctx.device = Device::cuda(index);
  return ctx;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DeviceError& e) {
    return e.what();
  }
  return "(no DeviceError)";
}

TEST(Dispatch, OutputsFollowTheContextDeviceAndInputDtype) {
  ExecContext ctx;
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y({7}, DType::i32);  // stale output of another dtype and shape
  layer_norm(ctx, x, Tensor::from_vector({1, 1, 1}, {3}), Tensor::zeros({3}), 1e-5f, y);
  EXPECT_EQ(y.dtype(), DType::f32);
  EXPECT_EQ(y.device(), Device::cpu());
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_NEAR(y.data<float>()[1], 0.f, 1e-6);
}

TEST(Dispatch, CudaContextFailsWithAClearDeviceError) {
  if (have_gpu()) GTEST_SKIP() << "a CUDA device is present: see test_engine_gpu";
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  // In-place op: reaches the backend itself.
  const std::string in_place = message_of([&] { softmax(cuda_ctx(), x); });
  // Op with an output: fails allocating it on the device.
  Tensor y;
  const std::string with_output = message_of(
      [&] { layer_norm(cuda_ctx(1), x, Tensor::zeros({3}), Tensor::zeros({3}), 1e-5f, y); });
#ifdef VOICEMAN_CUDA
  // CUDA build on a machine without a GPU or driver.
  EXPECT_NE(in_place.find("cuda:0: no CUDA device"), std::string::npos) << in_place;
  EXPECT_NE(with_output.find("cuda:1: no CUDA device"), std::string::npos) << with_output;
#else
  EXPECT_NE(in_place.find("softmax"), std::string::npos) << in_place;
  EXPECT_NE(in_place.find("cuda:0"), std::string::npos) << in_place;
  EXPECT_NE(with_output.find("no CUDA backend"), std::string::npos) << with_output;
#endif
  EXPECT_TRUE(y.empty() || y.device().is_cpu());
  EXPECT_EQ(x.data<float>()[0], 1.f);  // untouched
}

TEST(Dispatch, DeviceTensorsNeedADevice) {
  if (have_gpu()) GTEST_SKIP() << "a CUDA device is present: see test_engine_gpu";
  EXPECT_THROW(Tensor({4}, DType::f16, Device::cuda()), DeviceError);
  EXPECT_THROW(Tensor::from_vector({1, 2}, {2}).to(Device::cuda()), DeviceError);
}

TEST(Dispatch, CastRoundsToNearestEven) {
  ExecContext ctx;
  const Tensor x = Tensor::from_vector({1.f, -2.5f, 0.1f, 65504.f, 1.00390625f, 3.0e38f}, {6});
  Tensor h, b, back;
  cast(ctx, x, DType::f16, h);
  cast(ctx, x, DType::bf16, b);
  EXPECT_EQ(h.dtype(), DType::f16);
  EXPECT_EQ(h.data<uint16_t>()[0], 0x3c00);
  EXPECT_EQ(h.data<uint16_t>()[3], 0x7bff);  // largest half
  EXPECT_EQ(h.data<uint16_t>()[5], 0x7c00);  // overflow -> inf
  EXPECT_EQ(b.data<uint16_t>()[0], 0x3f80);
  EXPECT_EQ(b.data<uint16_t>()[4], 0x3f80);  // 1 + 2^-8 is a tie: rounds to even (1.0)
  cast(ctx, b, DType::f32, back);
  EXPECT_EQ(back.dtype(), DType::f32);
  EXPECT_FLOAT_EQ(back.data<float>()[1], -2.5f);
  EXPECT_NEAR(back.data<float>()[2], 0.1f, 1e-3f);
  cast(ctx, h, DType::f32, back);
  EXPECT_NEAR(back.data<float>()[2], 0.1f, 1e-4f);
  EXPECT_TRUE(std::isinf(back.data<float>()[5]));
  EXPECT_THROW(cast(ctx, x, DType::f32, const_cast<Tensor&>(x)), Error);
}

TEST(Dispatch, Bf16ConversionMatchesTruncationPlusRounding) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.f, 10.f);
  for (int i = 0; i < 1000; ++i) {
    const float f = dist(rng);
    const float back = primitives::cpu::bf16_to_float(primitives::cpu::float_to_bf16(f));
    EXPECT_LE(std::fabs(back - f), std::fabs(f) * (1.f / 256.f)) << f;
  }
  EXPECT_TRUE(std::isnan(primitives::cpu::bf16_to_float(primitives::cpu::float_to_bf16(NAN))));
}

TEST(Dispatch, TensorCopiesBetweenCpuTensors) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  Tensor y = x.to(Device::cpu());
  EXPECT_EQ(y.to_vector(), x.to_vector());
  y.data<float>()[0] = 9;
  EXPECT_EQ(x.data<float>()[0], 1);  // a copy, not a view
  Tensor z({2, 2});
  z.copy_from(y);
  EXPECT_EQ(z.data<float>()[0], 9);
  Tensor wrong({4});
  EXPECT_THROW(wrong.copy_from(y), Error);
}

TEST(Dispatch, FillZeroWritesTheTensorsOwnStorage) {
  ExecContext ctx;
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor middle = x.slice_rows(1, 2);  // a view: only its row is zeroed
  middle.fill_zero(ctx);
  EXPECT_EQ(x.to_vector(), (std::vector<float>{1, 2, 0, 0, 5, 6}));
  Tensor none({0, 2});
  EXPECT_NO_THROW(none.fill_zero(ctx));
  ExecContext gpu;
  gpu.device = Device::cuda(0);
  EXPECT_THROW(x.fill_zero(gpu), Error);  // a CPU tensor, a GPU stream
  EXPECT_EQ(x.to_vector(), (std::vector<float>{1, 2, 0, 0, 5, 6}));
}

TEST(Dispatch, CopyRowsAndRunsMoveElementsAndCheckBounds) {
  ExecContext ctx;
  const Tensor src = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  Tensor dst = Tensor::zeros({2, 6});
  // Columns 1..2 of each of the first two rows, into the start of each dst row.
  copy_rows(ctx, src, 1, 4, dst, 0, 6, 2, 2);
  EXPECT_EQ(dst.to_vector(), (std::vector<float>{1, 2, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0}));
  const std::vector<int64_t> from = {8, 0}, to = {3, 9}, widths = {3, 1};
  copy_runs(ctx, src, from, dst, to, widths);
  EXPECT_EQ(dst.to_vector(), (std::vector<float>{1, 2, 0, 8, 9, 10, 5, 6, 0, 0, 0, 0}));
  EXPECT_THROW(copy_rows(ctx, src, 10, 4, dst, 0, 6, 1, 3), Error);  // past the end of src
  EXPECT_THROW(copy_rows(ctx, src, 0, 1, dst, 0, 6, 2, 2), Error);   // pitch < width
  const std::vector<int64_t> bad_to = {11}, one = {2}, zero = {0};
  EXPECT_THROW(copy_runs(ctx, src, zero, dst, bad_to, one), Error);
  Tensor other({12}, DType::i32);
  EXPECT_THROW(copy_rows(ctx, src, 0, 0, other, 0, 0, 1, 2), Error);  // dtype mismatch
}

TEST(GpuProbe, ReportsWhyThereIsNoGpuWithoutCrashing) {
  const voiceman::cuda::GpuProbe p = voiceman::cuda::probe_gpus();
#ifdef VOICEMAN_CUDA
  EXPECT_TRUE(p.built_with_cuda);
  EXPECT_GT(p.runtime_version, 0);
#else
  EXPECT_FALSE(p.built_with_cuda);
#endif
  EXPECT_EQ(p.available, !p.usable().empty());
  if (!p.available) {
    for (const voiceman::cuda::GpuInfo& d : p.devices)
      EXPECT_NE(p.reason.find(d.name + " has " + d.unusable), std::string::npos) << p.reason;
    EXPECT_EQ(p.reason.rfind("GPU not available: ", 0), 0u) << p.reason;
    EXPECT_EQ(p.summary(), p.reason);
  } else {
    ASSERT_FALSE(p.devices.empty());
    EXPECT_GT(p.devices[0].memory_total, 0u);
    EXPECT_NE(p.summary().find("cuda:0"), std::string::npos);
    EXPECT_NE(p.summary().find("cuBLAS " + p.blas_version), std::string::npos) << p.summary();
    EXPECT_FALSE(p.blas_version.empty());
  }
  EXPECT_EQ(!p.devices.empty(), have_gpu());
}

// An integrated GPU's free figure is the system's available memory: the summary says so.
TEST(GpuProbe, TheSummaryNamesUnifiedMemory) {
  voiceman::cuda::GpuProbe p;
  p.available = true;
  p.runtime_version = p.driver_version = 13000;
  p.blas_version = "13.1.0";
  p.devices.push_back({0, "NVIDIA H100", 9, 0, uint64_t{80} << 30, uint64_t{79} << 30, 0, "0:1"});
  p.devices.push_back(
      {1, "NVIDIA GB10", 12, 1, uint64_t{121} << 30, uint64_t{107} << 30, 0, "f:1", true});
  EXPECT_NE(p.summary().find("NVIDIA H100 (sm_90, 79.0 GiB free)"), std::string::npos)
      << p.summary();
  EXPECT_NE(p.summary().find("NVIDIA GB10 (sm_121, 107.0 GiB available, unified memory)"),
            std::string::npos)
      << p.summary();
}

// Which devices a build's kernels run on, by CUDA's compatibility rules for cubins and PTX.
TEST(GpuProbe, KnowsWhichDevicesTheBuildsKernelsRunOn) {
  using voiceman::cuda::missing_kernels;
  const std::string_view defaults = "80-real,90-real,100-real,120-real,121-real,121-virtual";
  for (auto [major, minor] :
       {std::pair{8, 0}, {8, 6}, {8, 9}, {9, 0}, {10, 0}, {10, 3}, {12, 0}, {12, 1}, {13, 0}})
    EXPECT_EQ(missing_kernels(defaults, major, minor), "") << major << "." << minor;
  // Thor (11.0): no cubin of its major, and compute_121 PTX is newer than it.
  const std::string thor = missing_kernels(defaults, 11, 0);
  EXPECT_NE(thor.find("compute capability 11.0; this build has kernels for 80-real, "),
            std::string::npos)
      << thor;
  EXPECT_NE(thor.find("-DCMAKE_CUDA_ARCHITECTURES=110-real"), std::string::npos) << thor;
  // A T4 or V100: below what the kernels need, whatever the build.
  EXPECT_EQ(missing_kernels(defaults, 7, 5),
            "compute capability 7.5; voiceman's kernels need 8.0 or newer");
  EXPECT_NE(missing_kernels("native", 7, 0), "");
  // gpu-check.sh's build for the card it runs on: a cubin runs on later minors only.
  EXPECT_EQ(missing_kernels("90-real", 9, 0), "");
  EXPECT_NE(missing_kernels("90-real", 10, 0), "");
  EXPECT_NE(missing_kernels("86-real", 8, 0), "");
  EXPECT_EQ(missing_kernels("86-real", 8, 9), "");
  // PTX runs on anything at least as new; "NN" is both forms; spaces are ignored.
  EXPECT_EQ(missing_kernels("80-virtual", 12, 1), "");
  EXPECT_EQ(missing_kernels("80", 9, 0), "");
  EXPECT_EQ(missing_kernels(" 90-real , 80-virtual ", 12, 0), "");
  EXPECT_NE(missing_kernels("90-virtual", 8, 9), "");
  // Arch-specific ("a") kernels run on that capability only; family ("f") on its major.
  EXPECT_EQ(missing_kernels("90a-real", 9, 0), "");
  EXPECT_NE(missing_kernels("90a", 10, 0), "");
  EXPECT_NE(missing_kernels("100a-virtual", 10, 3), "");
  EXPECT_EQ(missing_kernels("100f-real", 10, 3), "");
  EXPECT_NE(missing_kernels("100f", 12, 0), "");
  // Forms the compiler resolves count as running; so does a build without CUDA.
  for (const char* unread : {"native", "all", "all-major", "", "80-real,native"})
    EXPECT_EQ(missing_kernels(unread, 12, 1), "") << unread;
#ifdef VOICEMAN_CUDA
  EXPECT_FALSE(voiceman::cuda::built_architectures().empty());
#else
  EXPECT_TRUE(voiceman::cuda::built_architectures().empty());
#endif
}

// A device without kernels is listed, never counted as usable, and named in the reason.
TEST(GpuProbe, TheSummaryNamesADeviceItCannotUse) {
  voiceman::cuda::GpuProbe p;
  p.available = true;
  p.runtime_version = p.driver_version = 13000;
  p.blas_version = "13.1.0";
  p.devices.push_back({0, "Tesla T4", 7, 5, uint64_t{15} << 30, uint64_t{14} << 30, 0, "0:1", false,
                       voiceman::cuda::missing_kernels("80-real", 7, 5)});
  p.devices.push_back({1, "NVIDIA H100", 9, 0, uint64_t{80} << 30, uint64_t{79} << 30, 0, "0:2"});
  ASSERT_EQ(p.usable().size(), 1u);
  EXPECT_EQ(p.usable().front()->index, 1);
  EXPECT_NE(p.summary().find("Tesla T4 (sm_75, 14.0 GiB free, not usable: compute capability 7.5;"),
            std::string::npos)
      << p.summary();
  EXPECT_NE(p.summary().find("NVIDIA H100 (sm_90, 79.0 GiB free)"), std::string::npos)
      << p.summary();
}

TEST(GpuProbe, NvmlLoadsOnlyWhereThereIsADriver) {
  std::string why;
  auto nvml = voiceman::cuda::Nvml::open(&why);
  if (!nvml) {
    EXPECT_FALSE(why.empty());
    return;
  }
  EXPECT_GE(nvml->device_count(), 0);
  if (nvml->device_count() > 0) {
    const auto d = nvml->device(0);
    ASSERT_TRUE(d.has_value());
    EXPECT_FALSE(d->name.empty());
  }
}

}  // namespace
}  // namespace voiceman::ops
