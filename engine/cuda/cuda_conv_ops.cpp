// CudaBackend's codec convolutions: argument checks, then one implicit-GEMM launch on the backend's
// stream (kernels/conv1d.cuh, kernels/conv_transpose1d.cuh). The weight's dtype picks the path:
// F32 runs fp32 FMA (the fp32 codec's parity path), BF16 the bf16 tensor cores.
#include <limits>
#include <string>

#include "engine/cuda/cuda_state.h"
#include "kernels/conv1d.cuh"
#include "kernels/conv_transpose1d.cuh"

namespace hs {
namespace {

using cuda::check_shape;
using cuda::check_tensor;
using cuda::check_that;

constexpr std::int64_t kMaxGridZ = 65535;  // the kernels put (batch, phase) on the grid's z axis
constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();  // the kernels index with int

void check_rank3(const Tensor& t, std::string_view op, std::string_view arg) {
  check_that(t.rank() == 3, op, std::string(arg) + " has shape " + shape_str(t.shape()) + ", expected rank 3");
}

// Every dimension fits the kernels' int indices.
void check_int_dims(const Tensor& t, std::string_view op, std::string_view arg) {
  for (const std::int64_t d : t.shape())
    check_that(d <= kMaxInt, op, std::string(arg) + " dimension " + std::to_string(d) + " is too large");
}

kernels::WeightType conv_weight_type(const Tensor& weight, std::string_view op) {
  check_that(weight.defined() && (weight.dtype() == DType::F32 || weight.dtype() == DType::BF16), op,
             "weight must be F32 or BF16" +
                 (weight.defined() ? ", got " + std::string(dtype_name(weight.dtype())) : std::string()));
  check_tensor(weight, weight.dtype(), op, "weight");
  check_rank3(weight, op, "weight");
  check_int_dims(weight, op, "weight");
  return weight.dtype() == DType::F32 ? kernels::WeightType::F32 : kernels::WeightType::BF16;
}

// x and out are F32 rank-3 CUDA tensors, distinct; bias F32 [channels] when given.
void check_io(const Tensor& x, const Tensor* bias, std::int64_t channels, const Tensor& out, std::string_view op) {
  check_tensor(x, DType::F32, op, "x");
  check_tensor(out, DType::F32, op, "out");
  check_rank3(x, op, "x");
  check_rank3(out, op, "out");
  check_int_dims(x, op, "x");
  check_int_dims(out, op, "out");
  check_that(x.raw() != out.raw(), op, "out must not alias x");
  if (bias) {
    check_tensor(*bias, DType::F32, op, "bias");
    check_shape(*bias, {channels}, op, "bias");
  }
}

const float* f32(const Tensor* t) { return t ? static_cast<const float*>(t->raw()) : nullptr; }

// The checked launch of conv1d and conv1d_prelu (alpha null: no PReLU).
void run_conv1d(CudaBackend::State& s, const Tensor& x, const Tensor& weight, const Tensor* bias, const Tensor* alpha,
                const Conv1dParams& params, Tensor& out, std::string_view op) {
  const kernels::WeightType type = conv_weight_type(weight, op);
  const std::int64_t cout = weight.dim(0), kernel = weight.dim(2);
  check_io(x, bias, cout, out, op);
  const std::int64_t batch = x.dim(0), cin = x.dim(1), len = x.dim(2);
  check_shape(weight, {cout, cin, kernel}, op, "weight");
  check_that(kernel >= 1, op, "kernel size must be >= 1");
  check_that(params.stride >= 1 && params.dilation >= 1 && params.pad_left >= 0 && params.pad_right >= 0, op,
             "stride and dilation must be >= 1 and padding >= 0");
  check_that(params.stride <= kMaxInt && params.dilation <= kMaxInt && params.pad_left <= kMaxInt &&
                 params.pad_right <= kMaxInt,
             op, "stride, dilation or padding is too large");
  const std::int64_t span = params.dilation * (kernel - 1) + 1;
  const std::int64_t padded = len + params.pad_left + params.pad_right;
  check_that(padded >= span, op,
             "padded input length " + std::to_string(padded) + " is shorter than the kernel span " + std::to_string(span));
  check_that(padded <= kMaxInt, op, "padded input length " + std::to_string(padded) + " is too large");
  const std::int64_t out_len = (padded - span) / params.stride + 1;
  check_shape(out, {batch, cout, out_len}, op, "out");
  check_that(batch <= kMaxGridZ, op, "batch " + std::to_string(batch) + " exceeds " + std::to_string(kMaxGridZ));
  if (alpha) {
    check_tensor(*alpha, DType::F32, op, "alpha");
    check_that(alpha->shape() == Shape{1} || alpha->shape() == Shape{cout}, op,
               "alpha has shape " + shape_str(alpha->shape()) + ", expected [1] or [" + std::to_string(cout) + "]");
  }
  kernels::conv1d({.x = static_cast<const float*>(x.raw()),
                   .weight = weight.raw(),
                   .weight_type = type,
                   .bias = f32(bias),
                   .alpha = f32(alpha),
                   .alpha_per_channel = alpha && alpha->numel() == cout && cout != 1,
                   .out = static_cast<float*>(out.raw()),
                   .batch = static_cast<int>(batch),
                   .cin = static_cast<int>(cin),
                   .len = static_cast<int>(len),
                   .cout = static_cast<int>(cout),
                   .kernel = static_cast<int>(kernel),
                   .stride = static_cast<int>(params.stride),
                   .dilation = static_cast<int>(params.dilation),
                   .pad_left = static_cast<int>(params.pad_left),
                   .out_len = static_cast<int>(out_len)},
                  s.stream);
}

}  // namespace

void CudaBackend::conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv1dParams& params,
                         Tensor& out) {
  cuda::use_device(*state_);
  run_conv1d(*state_, x, weight, bias, nullptr, params, out, "conv1d");
}

void CudaBackend::conv1d_prelu(const Tensor& x, const Tensor& weight, const Tensor* bias, const Tensor& alpha,
                               const Conv1dParams& params, Tensor& out) {
  cuda::use_device(*state_);
  run_conv1d(*state_, x, weight, bias, &alpha, params, out, "conv1d_prelu");
}

void CudaBackend::conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias, std::int64_t stride,
                                   std::int64_t skip, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "conv_transpose1d";
  const kernels::WeightType type = conv_weight_type(weight, op);
  const std::int64_t cout = weight.dim(1), kernel = weight.dim(2);
  check_io(x, bias, cout, out, op);
  const std::int64_t batch = x.dim(0), cin = x.dim(1), len = x.dim(2), out_len = out.dim(2);
  check_shape(weight, {cin, cout, kernel}, op, "weight");
  check_shape(out, {batch, cout, out_len}, op, "out");
  check_that(kernel >= 1, op, "kernel size must be >= 1");
  check_that(stride >= 1 && skip >= 0, op, "stride must be >= 1 and skip >= 0");
  check_that(stride <= kMaxInt && skip <= kMaxInt, op, "stride or skip is too large");
  const std::int64_t full_len = len == 0 ? 0 : (len - 1) * stride + kernel;
  check_that(skip + out_len <= full_len, op,
             "skip " + std::to_string(skip) + " + length " + std::to_string(out_len) + " exceeds the full output " +
                 std::to_string(full_len));
  check_that(full_len <= kMaxInt, op, "full output length " + std::to_string(full_len) + " is too large");
  check_that(batch * stride <= kMaxGridZ, op,
             "batch · stride " + std::to_string(batch * stride) + " exceeds " + std::to_string(kMaxGridZ));
  kernels::conv_transpose1d({.x = static_cast<const float*>(x.raw()),
                             .weight = weight.raw(),
                             .weight_type = type,
                             .bias = f32(bias),
                             .out = static_cast<float*>(out.raw()),
                             .batch = static_cast<int>(batch),
                             .cin = static_cast<int>(cin),
                             .len = static_cast<int>(len),
                             .cout = static_cast<int>(cout),
                             .kernel = static_cast<int>(kernel),
                             .stride = static_cast<int>(stride),
                             .skip = static_cast<int>(skip),
                             .out_len = static_cast<int>(out_len)},
                            state_->stream);
}

}  // namespace hs
