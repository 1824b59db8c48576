#include "engine/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "engine/core/error.h"

namespace hs {

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  for (auto d : shape) HS_CHECK(d >= 0, "negative dimension in " + shape_str(shape));
  const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  // 64-byte alignment for SIMD; at least one byte so data() is never null.
  const std::size_t alloc = (bytes + 63) / 64 * 64 + 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) throw Error("out of host memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, alloc);
  return view(p, std::move(shape), dtype, Device::Cpu, std::shared_ptr<void>(p, std::free));
}

Tensor Tensor::view(void* data, Shape shape, DType dtype, Device device, std::shared_ptr<void> owner) {
  Tensor t;
  t.data_ = data;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::from_f32(Shape shape, const std::vector<float>& values) {
  Tensor t = zeros(std::move(shape), DType::F32);
  HS_CHECK(static_cast<std::size_t>(t.numel()) == values.size(), "from_f32: value count != shape");
  std::memcpy(t.data_, values.data(), t.bytes());
  return t;
}

Tensor Tensor::from_i32(Shape shape, const std::vector<std::int32_t>& values) {
  Tensor t = zeros(std::move(shape), DType::I32);
  HS_CHECK(static_cast<std::size_t>(t.numel()) == values.size(), "from_i32: value count != shape");
  std::memcpy(t.data_, values.data(), t.bytes());
  return t;
}

std::int64_t Tensor::dim(int i) const {
  const int r = rank();
  const int k = i < 0 ? i + r : i;
  HS_CHECK(k >= 0 && k < r, "dimension " + std::to_string(i) + " out of range for " + shape_str(shape_));
  return shape_[static_cast<std::size_t>(k)];
}

Tensor Tensor::reshape(Shape shape) const {
  HS_CHECK(shape_numel(shape) == numel(), "cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  return view(data_, std::move(shape), dtype_, device_, owner_);
}

Tensor Tensor::slice(std::int64_t begin, std::int64_t end) const {
  HS_CHECK(rank() >= 1 && 0 <= begin && begin <= end && end <= shape_[0],
           "slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " + shape_str(shape_));
  Shape s = shape_;
  s[0] = end - begin;
  const std::size_t row_bytes = numel() == 0 ? 0 : bytes() / static_cast<std::size_t>(shape_[0]);
  return view(static_cast<char*>(data_) + begin * row_bytes, std::move(s), dtype_, device_, owner_);
}

Tensor Tensor::to_f32() const {
  HS_CHECK(device_ == Device::Cpu, "to_f32 needs a host tensor");
  Tensor out = zeros(shape_, DType::F32);
  convert_to_f32(dtype_, data_, out.data<float>(), static_cast<std::size_t>(numel()));
  return out;
}

Tensor Tensor::to_bf16() const {
  const Tensor f = to_f32();
  Tensor out = zeros(shape_, DType::BF16);
  const float* src = f.data<float>();
  auto* dst = out.data<std::uint16_t>();
  for (std::int64_t i = 0; i < numel(); ++i) dst[i] = f32_to_bf16(src[i]);
  return out;
}

Tensor Tensor::clone() const {
  HS_CHECK(device_ == Device::Cpu, "clone needs a host tensor");
  Tensor out = zeros(shape_, dtype_);
  if (bytes()) std::memcpy(out.data_, data_, bytes());
  return out;
}

void Tensor::check_access(std::size_t element_size) const {
  HS_CHECK(device_ == Device::Cpu, "host access to a device tensor");
  HS_CHECK(dtype_size(dtype_) == element_size,
           std::string("element size mismatch for dtype ") + std::string(dtype_name(dtype_)));
}

}  // namespace hs
