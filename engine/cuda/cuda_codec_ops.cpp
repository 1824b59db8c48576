// CudaBackend codec ops other than the convolutions: the CPU reference's argument checks
// (engine/cpu/cpu_codec_ops.cpp), then one hs_kernels launch each on the backend's stream.
// Arithmetic ops take tensors in the activation dtype (fp32 math inside); prelu's alpha and
// timestep_embedding's t are F32. The layout copies (transpose, column copies, repeat_last) move
// F32 or BF16 tensors bit for bit.
#include <algorithm>
#include <string>

#include "engine/cuda/cuda_state.h"
#include "kernels/codec_elementwise.cuh"
#include "kernels/columns.cuh"
#include "kernels/layer_norm.cuh"
#include "kernels/rms_norm.cuh"
#include "kernels/timestep_embedding.cuh"

namespace hs {
namespace {

using cuda::check_shape;
using cuda::check_tensor;
using cuda::check_that;

// x and out in the activation dtype, of one shape.
kernels::ElementType check_same(const CudaBackend::State& s, const Tensor& x, const Tensor& out, std::string_view op,
                                std::string_view x_name = "x") {
  check_tensor(x, s.activations, op, x_name);
  check_tensor(out, s.activations, op, "out");
  check_shape(out, x.shape(), op, "out");
  return cuda::element_type(s.activations, op, x_name);
}

// A second operand of x's shape in the activation dtype.
void check_operand(const CudaBackend::State& s, const Tensor& x, const Tensor& t, std::string_view op,
                   std::string_view arg) {
  check_tensor(t, s.activations, op, arg);
  check_shape(t, x.shape(), op, arg);
}

// modulate and gated_add: x [B, T, D] with per-batch vectors [B, D].
void check_batched(const CudaBackend::State& s, const Tensor& x, const Tensor& vec, std::string_view op,
                   std::string_view arg) {
  check_that(x.rank() == 3, op, "x must be [B, T, D], got " + shape_str(x.shape()));
  check_tensor(vec, s.activations, op, arg);
  check_shape(vec, {x.dim(0), x.dim(2)}, op, arg);
}

// A layout copy: src F32 or BF16, dst of its dtype.
kernels::ElementType check_copy(const Tensor& src, const Tensor& dst, std::string_view op, std::string_view src_name,
                                std::string_view dst_name) {
  check_tensor(src, src.dtype(), op, src_name);
  const kernels::ElementType type = cuda::element_type(src.dtype(), op, src_name);
  check_tensor(dst, src.dtype(), op, dst_name);
  return type;
}

// read_columns / write_columns: `narrow` [R, n] and `wide` [R, N] (leading dimensions flattened
// into R) with columns [offset, offset + n) of wide inside it. Returns R.
std::int64_t check_columns(const Tensor& src, const Tensor& dst, const Tensor& narrow, const Tensor& wide,
                           std::int64_t offset, std::string_view op) {
  const std::string shapes = "src " + shape_str(src.shape()) + " and dst " + shape_str(dst.shape());
  check_that(src.rank() >= 1 && src.rank() == dst.rank(), op, shapes + " differ in rank");
  const std::int64_t n = narrow.dim(-1), width = wide.dim(-1);
  check_that(wide.numel() / std::max<std::int64_t>(width, 1) * n == narrow.numel() || n == 0, op,
             shapes + " differ in leading dimensions");
  check_that(offset >= 0 && offset + n <= width, op,
             "columns [" + std::to_string(offset) + ", " + std::to_string(offset + n) + ") outside " +
                 std::to_string(width));
  return n == 0 ? 0 : narrow.numel() / n;
}

}  // namespace

namespace cuda {

kernels::RmsNormParams modulated_norm(const CudaBackend::State& s, const Tensor& x, const Tensor& weight, float eps,
                                      const Tensor& shift, const Tensor& scale, const ScaledTensor& out,
                                      std::string_view op) {
  check_tensor(x, DType::F32, op, "x");
  check_tensor(weight, DType::F32, op, "weight");
  check_batched(s, x, shift, op, "shift");
  check_batched(s, x, scale, op, "scale");
  check_shape(weight, {x.dim(2)}, op, "weight");
  check_that(out.data.defined() && (out.data.dtype() == DType::F32 || out.data.dtype() == s.narrow || out.fp8()), op,
             "out must be F32, the narrow dtype or fp8");
  if (out.data.dtype() == DType::F32) check_tensor(out.data, DType::F32, op, "out");
  else check_scaled(s, out, op, "out");
  check_shape(out.data, x.shape(), op, "out");
  kernels::RmsNormParams p{x.raw(), weight.raw(), out.data.raw(), x.dim(0) * x.dim(1), x.dim(2), eps,
                           kernels::ElementType::F32,
                           out.fp8() ? kernels::ElementType::F32 : element_type(out.data.dtype(), op, "out")};
  p.shift = static_cast<const float*>(shift.raw());
  p.mod_scale = static_cast<const float*>(scale.raw());
  p.batch_rows = std::max<std::int64_t>(x.dim(1), 1);
  if (out.fp8()) p.out_scales = static_cast<float*>(out.scale.raw());
  return p;
}

}  // namespace cuda

void CudaBackend::prelu(const Tensor& x, const Tensor& alpha, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "prelu";
  const kernels::ElementType type = check_same(*state_, x, out, op);
  check_tensor(alpha, DType::F32, op, "alpha");
  check_that(x.rank() == 3, op, "x must be [B, C, T], got " + shape_str(x.shape()));
  const std::int64_t channels = x.dim(1);
  check_that(alpha.numel() == 1 || alpha.numel() == channels, op,
             "alpha has " + std::to_string(alpha.numel()) + " values for " + std::to_string(channels) + " channels");
  kernels::prelu({x.raw(), static_cast<const float*>(alpha.raw()), out.raw(), x.dim(0) * channels, x.dim(2),
                  alpha.numel(), type},
                 state_->stream);
}

void CudaBackend::layer_norm(const Tensor& x, float eps, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "layer_norm";
  const kernels::ElementType type = check_same(*state_, x, out, op);
  check_that(x.rank() == 2, op, "x must be [N, D], got " + shape_str(x.shape()));
  check_that(x.dim(1) <= kernels::kLayerNormMaxDim, op,
             "rows of " + std::to_string(x.dim(1)) + " exceed " + std::to_string(kernels::kLayerNormMaxDim));
  kernels::layer_norm({x.raw(), out.raw(), x.dim(0), x.dim(1), eps, type}, state_->stream);
}

void CudaBackend::modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "modulate";
  const kernels::ElementType type = check_same(*state_, x, out, op);
  check_batched(*state_, x, shift, op, "shift");
  check_batched(*state_, x, scale, op, "scale");
  kernels::modulate({x.raw(), shift.raw(), scale.raw(), out.raw(), x.dim(0), x.dim(1), x.dim(2), type},
                    state_->stream);
}

void CudaBackend::rms_norm_modulate(const Tensor& x, const Tensor& weight, float eps, const Tensor& shift,
                                    const Tensor& scale, ScaledTensor out) {
  cuda::use_device(*state_);
  kernels::rms_norm(cuda::modulated_norm(*state_, x, weight, eps, shift, scale, out, "rms_norm_modulate"),
                    state_->stream);
}

void CudaBackend::modulation_vectors(const Tensor& adaln, const Tensor& tables, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "modulation_vectors";
  for (const auto& [t, name] : {std::pair{&adaln, "adaln"}, {&tables, "tables"}, {&out, "out"}})
    check_tensor(*t, DType::F32, op, name);
  check_that(out.rank() == 4, op, "out must be [L, G, B, D], got " + shape_str(out.shape()));
  const std::int64_t layers = out.dim(0), groups = out.dim(1), batch = out.dim(2), dim = out.dim(3);
  check_shape(adaln, {batch, groups * dim}, op, "adaln");
  check_shape(tables, {layers, groups * dim}, op, "tables");
  kernels::modulation_vectors({adaln.raw(), tables.raw(), out.raw(), layers, groups, batch, dim,
                               kernels::ElementType::F32},
                              state_->stream);
}

void CudaBackend::sum_taps(const Tensor& taps, const Tensor* bias, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "sum_taps";
  check_tensor(taps, DType::F32, op, "taps");
  check_tensor(out, DType::F32, op, "out");
  check_that(out.rank() == 3, op, "out must be [B, T, C], got " + shape_str(out.shape()));
  const std::int64_t batch = out.dim(0), frames = out.dim(1), channels = out.dim(2);
  const std::int64_t kernel = channels > 0 && taps.rank() == 3 ? taps.dim(2) / channels : 0;
  check_that(kernel % 2 == 1 && taps.shape() == Shape{batch, frames, kernel * channels}, op,
             "taps " + shape_str(taps.shape()) + " are not an odd number of taps of out " + shape_str(out.shape()));
  if (bias) {
    check_tensor(*bias, DType::F32, op, "bias");
    check_shape(*bias, {channels}, op, "bias");
  }
  kernels::sum_taps({taps.raw(), bias ? static_cast<const float*>(bias->raw()) : nullptr, out.raw(), batch, frames,
                     channels, kernel, kernels::ElementType::F32},
                    state_->stream);
}

void CudaBackend::gated_add(const Tensor& x, const Tensor& y, const Tensor& gate, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "gated_add";
  const kernels::ElementType type = check_same(*state_, x, out, op);
  check_operand(*state_, x, y, op, "y");
  check_batched(*state_, x, gate, op, "gate");
  kernels::gated_add({x.raw(), y.raw(), gate.raw(), out.raw(), x.dim(0), x.dim(1), x.dim(2), type}, state_->stream);
}

void CudaBackend::silu(const Tensor& x, Tensor& out) {
  cuda::use_device(*state_);
  const kernels::ElementType type = check_same(*state_, x, out, "silu");
  kernels::silu({x.raw(), out.raw(), x.numel(), type}, state_->stream);
}

void CudaBackend::add_row(const Tensor& x, const Tensor& row, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "add_row";
  const kernels::ElementType type = check_same(*state_, x, out, op);
  check_that(x.rank() == 2, op, "x must be [R, N], got " + shape_str(x.shape()));
  check_tensor(row, state_->activations, op, "row");
  check_shape(row, {x.dim(1)}, op, "row");
  kernels::add_row({x.raw(), row.raw(), out.raw(), x.dim(0), x.dim(1), type}, state_->stream);
}

void CudaBackend::axpby(float alpha, const Tensor& a, float beta, const Tensor& b, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "axpby";
  const kernels::ElementType type = check_same(*state_, a, out, op, "a");
  check_operand(*state_, a, b, op, "b");
  kernels::axpby({alpha, a.raw(), beta, b.raw(), out.raw(), a.numel(), type}, state_->stream);
}

void CudaBackend::transpose(const Tensor& x, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "transpose";
  const kernels::ElementType type = check_copy(x, out, op, "x", "out");
  check_that(x.rank() == 2 || x.rank() == 3, op, "x must have rank 2 or 3, has " + shape_str(x.shape()));
  const std::int64_t outer = x.rank() == 3 ? x.dim(0) : 1, rows = x.dim(-2), cols = x.dim(-1);
  check_shape(out, x.rank() == 3 ? Shape{outer, cols, rows} : Shape{cols, rows}, op, "out");
  check_that(x.raw() != out.raw() || x.numel() == 0, op, "out must not alias x");
  kernels::transpose({x.raw(), out.raw(), outer, rows, cols, type}, state_->stream);
}

void CudaBackend::write_columns(const Tensor& src, Tensor& dst, std::int64_t offset) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "write_columns";
  const kernels::ElementType type = check_copy(src, dst, op, "src", "dst");
  const std::int64_t rows = check_columns(src, dst, src, dst, offset, op);
  const std::int64_t n = src.dim(-1), width = dst.dim(-1);
  kernels::copy_columns({src.raw(), dst.raw(), rows, n, n, 0, width, offset, type}, state_->stream);
}

void CudaBackend::read_columns(const Tensor& src, std::int64_t offset, Tensor& dst) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "read_columns";
  const kernels::ElementType type = check_copy(src, dst, op, "src", "dst");
  const std::int64_t rows = check_columns(src, dst, dst, src, offset, op);
  const std::int64_t n = dst.dim(-1), width = src.dim(-1);
  kernels::copy_columns({src.raw(), dst.raw(), rows, n, width, offset, n, 0, type}, state_->stream);
}

void CudaBackend::round_to_grid(const Tensor& x, float levels, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "round_to_grid";
  const kernels::ElementType type = check_same(*state_, x, out, op);
  check_that(levels > 0.0f, op, "levels must be positive, got " + std::to_string(levels));
  kernels::round_to_grid({x.raw(), out.raw(), x.numel(), levels, type}, state_->stream);
}

void CudaBackend::repeat_last(const Tensor& x, std::int64_t factor, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "repeat_last";
  const kernels::ElementType type = check_copy(x, out, op, "x", "out");
  check_that(factor >= 1 && x.rank() >= 1, op, "factor must be >= 1 and x at least rank 1");
  Shape expected = x.shape();
  expected.back() *= factor;
  check_shape(out, expected, op, "out");
  kernels::repeat_last({x.raw(), out.raw(), x.numel(), factor, type}, state_->stream);
}

void CudaBackend::timestep_embedding(const Tensor& t, float scale, float max_period, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "timestep_embedding";
  check_tensor(t, DType::F32, op, "t");
  check_tensor(out, state_->activations, op, "out");
  check_that(t.rank() == 1 && out.rank() == 2, op,
             "t must be [B] and out [B, D], got " + shape_str(t.shape()) + " and " + shape_str(out.shape()));
  const std::int64_t dim = out.dim(1);
  check_shape(out, {t.dim(0), dim}, op, "out");
  check_that(dim % 2 == 0, op, "embedding size " + std::to_string(dim) + " is odd");
  kernels::timestep_embedding({static_cast<const float*>(t.raw()), out.raw(), t.dim(0), dim, scale, max_period,
                               cuda::element_type(state_->activations, op, "out")},
                              state_->stream);
}

void CudaBackend::crossfade(const Tensor& a, const Tensor& b, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "crossfade";
  const kernels::ElementType type = check_same(*state_, a, out, op, "a");
  check_operand(*state_, a, b, op, "b");
  check_that(a.rank() >= 1, op, "a must have rank >= 1");
  const std::int64_t len = a.dim(-1);
  kernels::crossfade({a.raw(), b.raw(), out.raw(), len == 0 ? 0 : a.numel() / len, len, type}, state_->stream);
}

}  // namespace hs
