#pragma once
// A dense row-major tensor owning (or sharing) a device buffer. Deliberately small:
// the ops decide layouts, the tensor only tracks shape, dtype and storage.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "voiceman/core/device.h"

namespace voiceman {

enum class DType : uint8_t { f32 = 0, i8 = 1, i16 = 2, i32 = 3, f16 = 4, bf16 = 5 };

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);

// Raw device memory: 64-byte aligned host memory, or a block of a CUDA device's memory
// pool (cuda::allocate, which throws OutOfMemoryError over the pool's cap).
class Buffer {
 public:
  Buffer(Device device, size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Device device_;
  size_t bytes_ = 0;
  void* data_ = nullptr;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, DType dtype = DType::f32, Device device = Device::cpu());

  static Tensor zeros(Shape shape, DType dtype = DType::f32, Device device = Device::cpu());
  // Zeros on ctx.device, written in order on ctx's stream (no device-wide wait).
  static Tensor zeros(Shape shape, DType dtype, const ExecContext& ctx);
  static Tensor from_vector(const std::vector<float>& values, Shape shape);

  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool empty() const { return !buffer_; }
  size_t bytes() const { return numel() * dtype_size(dtype_); }

  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(static_cast<char*>(buffer_->data()) + offset_);
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(static_cast<const char*>(buffer_->data()) + offset_);
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<size_t>(numel())};
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel())};
  }

  // Same storage, new shape (numel must match).
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) along the first dimension, sharing storage.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // Resizes in place, reallocating only when the capacity is too small.
  void resize(Shape shape);
  // The same, and also switches dtype/device (dropping the storage when either changes):
  // how ops make their outputs live where the op runs.
  void resize(Shape shape, DType dtype, Device device);
  Tensor clone() const;
  // A copy on `device` (same dtype); host <-> GPU copies are synchronous.
  Tensor to(Device device) const;
  // The same, ordered on ctx's CUDA stream: a download waits for that stream only, so
  // engines on other streams of the device keep running. ctx.device must be the GPU end.
  Tensor to(Device device, const ExecContext& ctx) const;
  // Copies src's contents (same shape and dtype, any device) into this tensor's storage.
  void copy_from(const Tensor& src);
  // Zeros in this tensor's own storage, on ctx's stream (ctx.device must be the tensor's).
  void fill_zero(const ExecContext& ctx);
  std::vector<float> to_vector() const;  // f32 CPU tensors only

 private:
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_;
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
};

}  // namespace voiceman
