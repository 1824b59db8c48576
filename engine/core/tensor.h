// Tensor: a dtype, a shape and a pointer into storage that it may share (a host buffer, a mapped
// file, device memory). Always contiguous, row-major. Copying a Tensor copies the handle, not data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace hs {

enum class Device : std::uint8_t { Cpu, Cuda };

using Shape = std::vector<std::int64_t>;

std::int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 44, 9]"

class Tensor {
 public:
  Tensor() = default;

  // A new zero-filled host tensor.
  static Tensor zeros(Shape shape, DType dtype);
  // A view of memory someone else owns; `owner` keeps it alive (may be null for static data).
  static Tensor view(void* data, Shape shape, DType dtype, Device device, std::shared_ptr<void> owner);
  // A host fp32 tensor holding `values` with the given shape.
  static Tensor from_f32(Shape shape, const std::vector<float>& values);
  static Tensor from_i32(Shape shape, const std::vector<std::int32_t>& values);

  bool defined() const { return data_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // Size of dimension i; negative i counts from the end.
  std::int64_t dim(int i) const;
  std::int64_t numel() const { return shape_numel(shape_); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }

  void* raw() const { return data_; }
  // Typed host access; throws if the dtype's element size differs from sizeof(T) or not on host.
  template <typename T>
  T* data() const {
    check_access(sizeof(T));
    return static_cast<T*>(data_);
  }

  // Same storage, new shape with the same number of elements.
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of dimension 0, sharing storage.
  Tensor slice(std::int64_t begin, std::int64_t end) const;
  // A host fp32 copy (converting from any dtype). Host tensors only.
  Tensor to_f32() const;
  // A host bf16 copy (round to nearest even). Host tensors only.
  Tensor to_bf16() const;
  // A deep host copy.
  Tensor clone() const;

 private:
  void check_access(std::size_t element_size) const;

  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_ = Device::Cpu;
  std::shared_ptr<void> owner_;
};

}  // namespace hs
