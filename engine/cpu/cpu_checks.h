// Argument checks shared by the CPU backend's op files: each throws InvalidArgument naming the
// op, the argument and what was expected.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "engine/core/tensor.h"

namespace hs::cpu {

inline std::string op_arg(std::string_view op, std::string_view arg) {
  return std::string(op) + ": " + std::string(arg);
}

// The tensor is defined, on the host and of dtype `dtype`.
inline void check_tensor(const Tensor& t, DType dtype, std::string_view op, std::string_view arg) {
  if (!t.defined()) throw InvalidArgument(op_arg(op, arg) + " is undefined");
  if (t.device() != Device::Cpu) throw InvalidArgument(op_arg(op, arg) + " is not a host tensor");
  if (t.dtype() != dtype)
    throw InvalidArgument(op_arg(op, arg) + " has dtype " + std::string(dtype_name(t.dtype())) + ", expected " +
                          std::string(dtype_name(dtype)));
}

inline void check_rank(const Tensor& t, int rank, std::string_view op, std::string_view arg) {
  if (t.rank() != rank)
    throw InvalidArgument(op_arg(op, arg) + " has shape " + shape_str(t.shape()) + ", expected rank " +
                          std::to_string(rank));
}

inline void check_shape(const Tensor& t, const Shape& shape, std::string_view op, std::string_view arg) {
  if (t.shape() != shape)
    throw InvalidArgument(op_arg(op, arg) + " has shape " + shape_str(t.shape()) + ", expected " +
                          shape_str(shape));
}

// Throws unless `cond`, with `what` describing the violated relation.
inline void check_that(bool cond, std::string_view op, const std::string& what) {
  if (!cond) throw InvalidArgument(std::string(op) + ": " + what);
}

}  // namespace hs::cpu
