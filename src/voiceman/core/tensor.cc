#include "voiceman/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <numeric>
#include <sstream>

#include "voiceman/core/errors.h"
#include "voiceman/core/host_memory.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/runtime.h"  // the device memory pool
#endif

namespace voiceman {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::i8:
      return 1;
    case DType::i16:
      return 2;
    case DType::i32:
      return 4;
    case DType::f16:
      return 2;
    case DType::bf16:
      return 2;
  }
  throw Error("unknown dtype");
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "float32";
    case DType::i8:
      return "int8";
    case DType::i16:
      return "int16";
    case DType::i32:
      return "int32";
    case DType::f16:
      return "float16";
    case DType::bf16:
      return "bfloat16";
  }
  return "unknown";
}

int64_t shape_numel(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ")";
  return out.str();
}

namespace {

#ifndef VOICEMAN_CUDA
[[noreturn]] void no_cuda(Device device) {
  throw DeviceError(device.str() +
                    ": this build has no CUDA backend (built with VOICEMAN_CUDA=OFF)");
}
#endif

// Copies between host and device memory, or within one of them.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    if (bytes) std::memcpy(dst, src, bytes);
    return;
  }
#ifdef VOICEMAN_CUDA
  cuda::copy(dst, dst_device, src, src_device, bytes);
#else
  no_cuda(dst_device.is_cpu() ? src_device : dst_device);
#endif
}

}  // namespace

Buffer::Buffer(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  if (!device.is_cpu()) {
#ifdef VOICEMAN_CUDA
    data_ = cuda::allocate(device, bytes);  // OutOfMemoryError over the pool's cap
    return;
#else
    no_cuda(device);
#endif
  }
  const size_t rounded = (bytes + 63) / 64 * 64;
  host_memory::reserve(rounded);  // OutOfMemoryError over the engine's host cap
  data_ = rounded ? std::aligned_alloc(64, rounded) : nullptr;
  if (rounded && !data_) {
    host_memory::release(rounded);
    throw OutOfMemoryError("host allocation of " + std::to_string(rounded) + " bytes failed");
  }
}

Buffer::~Buffer() {
  if (device_.is_cpu()) {
    std::free(data_);
    host_memory::release((bytes_ + 63) / 64 * 64);
    return;
  }
#ifdef VOICEMAN_CUDA
  cuda::deallocate(device_, data_);
#endif
}

Tensor::Tensor(Shape shape, DType dtype, Device device)
    : shape_(std::move(shape)), dtype_(dtype), device_(device) {
  buffer_ = std::make_shared<Buffer>(device, static_cast<size_t>(numel()) * dtype_size(dtype));
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t(std::move(shape), dtype, device);
  if (!t.bytes()) return t;
  if (device.is_cpu()) {
    std::memset(t.data<char>(), 0, t.bytes());
  } else {
#ifdef VOICEMAN_CUDA
    cuda::fill_zero(device, t.data<char>(), t.bytes());
#endif
  }
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, const ExecContext& ctx) {
  Tensor t(std::move(shape), dtype, ctx.device);
  t.fill_zero(ctx);
  return t;
}

void Tensor::fill_zero(const ExecContext& ctx) {
  if (!bytes()) return;
  if (ctx.device != device_)
    throw Error("fill_zero: a tensor on " + device_.str() + " with a context on " +
                ctx.device.str());
  if (device_.is_cpu()) {
    std::memset(data<char>(), 0, bytes());
    return;
  }
#ifdef VOICEMAN_CUDA
  cuda::fill_zero(ctx, data<char>(), bytes());
#endif
}

Tensor Tensor::from_vector(const std::vector<float>& values, Shape shape) {
  Tensor t(std::move(shape), DType::f32);
  if (static_cast<size_t>(t.numel()) != values.size())
    throw Error("from_vector: size does not match shape " + shape_str(t.shape()));
  std::memcpy(t.data<float>(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  if (shape_numel(shape) != numel())
    throw Error("reshape " + shape_str(shape_) + " -> " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  if (shape_.empty() || begin < 0 || end > shape_[0] || begin > end)
    throw Error("slice_rows out of range");
  Tensor t = *this;
  const int64_t row = numel() / (shape_[0] ? shape_[0] : 1);
  t.offset_ = offset_ + static_cast<size_t>(begin * row) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

void Tensor::resize(Shape shape, DType dtype, Device device) {
  if (dtype != dtype_ || device != device_) {
    buffer_.reset();
    offset_ = 0;
    dtype_ = dtype;
    device_ = device;
  }
  resize(std::move(shape));
}

void Tensor::resize(Shape shape) {
  const size_t need = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype_);
  if (!buffer_ || buffer_->bytes() < need + offset_ || buffer_.use_count() > 1) {
    buffer_ = std::make_shared<Buffer>(device_, need);
    offset_ = 0;
  }
  shape_ = std::move(shape);
}

Tensor Tensor::clone() const { return to(device_); }

Tensor Tensor::to(Device device) const {
  Tensor t(shape_, dtype_, device);
  if (bytes()) copy_bytes(t.data<char>(), device, data<char>(), device_, bytes());
  return t;
}

Tensor Tensor::to(Device device, const ExecContext& ctx) const {
  if (device.is_cpu() && device_.is_cpu()) return to(device);
  const Device gpu = device.is_cpu() ? device_ : device;
  if (ctx.device != gpu)
    throw DeviceError("Tensor::to: the stream is on " + ctx.device.str() + ", the copy on " +
                      gpu.str());
  Tensor t(shape_, dtype_, device);
#ifdef VOICEMAN_CUDA
  cuda::copy(ctx, t.data<char>(), device, data<char>(), device_, bytes());
#endif
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.shape_ != shape_ || src.dtype_ != dtype_)
    throw Error("copy_from: " + shape_str(src.shape_) + " " + dtype_name(src.dtype_) + " into " +
                shape_str(shape_) + " " + dtype_name(dtype_));
  if (bytes()) copy_bytes(data<char>(), device_, src.data<char>(), src.device_, bytes());
}

std::vector<float> Tensor::to_vector() const {
  if (dtype_ != DType::f32 || !device_.is_cpu())
    throw Error("to_vector needs a float32 CPU tensor");
  return {data<float>(), data<float>() + numel()};
}

}  // namespace voiceman
