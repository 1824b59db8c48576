// CpuBackend codec ops other than convolutions: activations, norms, AdaLN modulation, layout
// changes (transpose, column copies, upsampling), the timestep sinusoid and the cross-fade.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/parallel.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {

using cpu::check_rank;
using cpu::check_shape;
using cpu::check_tensor;
using cpu::check_that;

constexpr std::int64_t kRowGrain = 16;
constexpr std::int64_t kElementGrain = 1 << 16;
constexpr std::int64_t kTransposeBlock = 32;

// Checks x, out are F32 of one shape; returns the element count.
std::int64_t check_same(const Tensor& x, const Tensor& out, std::string_view op) {
  check_tensor(x, DType::F32, op, "x");
  check_tensor(out, DType::F32, op, "out");
  check_shape(out, x.shape(), op, "out");
  return x.numel();
}

// Applies fn(i) for every element index in parallel.
template <typename Fn>
void for_each_element(std::int64_t n, Fn fn) {
  parallel_for(n, kElementGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) fn(i);
  });
}

// Shared by modulate and gated_add: x [B, T, D] with per-batch vectors [B, D].
void check_batched(const Tensor& x, const Tensor& vec, std::string_view op, std::string_view arg) {
  check_rank(x, 3, op, "x");
  check_tensor(vec, DType::F32, op, arg);
  check_shape(vec, {x.dim(0), x.dim(2)}, op, arg);
}

}  // namespace

void CpuBackend::prelu(const Tensor& x, const Tensor& alpha, Tensor& out) {
  constexpr std::string_view op = "prelu";
  const std::int64_t n = check_same(x, out, op);
  check_tensor(alpha, DType::F32, op, "alpha");
  check_rank(x, 3, op, "x");
  const std::int64_t channels = x.dim(1), len = x.dim(2);
  check_that(alpha.numel() == 1 || alpha.numel() == channels, op,
             "alpha has " + std::to_string(alpha.numel()) + " values for " + std::to_string(channels) + " channels");
  const float* a = alpha.data<float>();
  const bool shared = alpha.numel() == 1;
  const float* xs = x.data<float>();
  float* y = out.data<float>();
  // One (batch, channel) row at a time, so the slope is fixed and the inner loop vectorises.
  parallel_for(n / std::max<std::int64_t>(len, 1), std::max<std::int64_t>(1, kElementGrain / std::max<std::int64_t>(len, 1)),
               [&](std::int64_t begin, std::int64_t end) {
                 for (std::int64_t r = begin; r < end; ++r) {
                   const float slope = shared ? a[0] : a[r % channels];
                   const float* xr = xs + r * len;
                   float* yr = y + r * len;
                   for (std::int64_t t = 0; t < len; ++t)  // branch-free, so it vectorises
                     yr[t] = std::max(xr[t], 0.0f) + slope * std::min(xr[t], 0.0f);
                 }
               });
}

void CpuBackend::layer_norm(const Tensor& x, float eps, Tensor& out) {
  constexpr std::string_view op = "layer_norm";
  check_same(x, out, op);
  check_rank(x, 2, op, "x");
  const std::int64_t rows = x.dim(0), dim = x.dim(1);
  const float* xs = x.data<float>();
  float* y = out.data<float>();
  parallel_for(rows, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* xr = xs + r * dim;
      double sum = 0.0;
      for (std::int64_t d = 0; d < dim; ++d) sum += xr[d];
      const double mean = sum / static_cast<double>(dim);
      double var = 0.0;
      for (std::int64_t d = 0; d < dim; ++d) var += (xr[d] - mean) * (xr[d] - mean);
      const double inv = 1.0 / std::sqrt(var / static_cast<double>(dim) + eps);
      for (std::int64_t d = 0; d < dim; ++d) y[r * dim + d] = static_cast<float>((xr[d] - mean) * inv);
    }
  });
}

void CpuBackend::modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& out) {
  constexpr std::string_view op = "modulate";
  check_same(x, out, op);
  check_batched(x, shift, op, "shift");
  check_batched(x, scale, op, "scale");
  const std::int64_t batch = x.dim(0), len = x.dim(1), dim = x.dim(2);
  const float* xs = x.data<float>();
  const float* sh = shift.data<float>();
  const float* sc = scale.data<float>();
  float* y = out.data<float>();
  parallel_for(batch * len, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t b = r / len;
      for (std::int64_t d = 0; d < dim; ++d)
        y[r * dim + d] = xs[r * dim + d] * (1.0f + sc[b * dim + d]) + sh[b * dim + d];
    }
  });
}

void CpuBackend::modulation_vectors(const Tensor& adaln, const Tensor& tables, Tensor& out) {
  constexpr std::string_view op = "modulation_vectors";
  for (const auto& [t, name] : {std::pair{&adaln, "adaln"}, {&tables, "tables"}, {&out, "out"}})
    check_tensor(*t, DType::F32, op, name);
  check_rank(out, 4, op, "out");
  const std::int64_t layers = out.dim(0), groups = out.dim(1), batch = out.dim(2), dim = out.dim(3);
  check_shape(adaln, {batch, groups * dim}, op, "adaln");
  check_shape(tables, {layers, groups * dim}, op, "tables");
  const float* a = adaln.data<float>();
  const float* t = tables.data<float>();
  float* o = out.data<float>();
  for (std::int64_t l = 0; l < layers; ++l)
    for (std::int64_t g = 0; g < groups; ++g)
      for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t d = 0; d < dim; ++d)
          o[((l * groups + g) * batch + b) * dim + d] = a[(b * groups + g) * dim + d] + t[(l * groups + g) * dim + d];
}

void CpuBackend::sum_taps(const Tensor& taps, const Tensor* bias, Tensor& out) {
  constexpr std::string_view op = "sum_taps";
  check_tensor(taps, DType::F32, op, "taps");
  check_tensor(out, DType::F32, op, "out");
  check_rank(out, 3, op, "out");
  const std::int64_t batch = out.dim(0), frames = out.dim(1), channels = out.dim(2);
  const std::int64_t kernel = channels > 0 && taps.rank() == 3 ? taps.dim(2) / channels : 0;
  check_that(kernel % 2 == 1 && taps.shape() == Shape{batch, frames, kernel * channels}, op,
             "taps " + shape_str(taps.shape()) + " are not an odd number of taps of out " + shape_str(out.shape()));
  if (bias) {
    check_tensor(*bias, DType::F32, op, "bias");
    check_shape(*bias, {channels}, op, "bias");
  }
  const float* z = taps.data<float>();
  const float* b = bias ? bias->data<float>() : nullptr;
  float* y = out.data<float>();
  const std::int64_t pad = (kernel - 1) / 2;
  parallel_for(batch * frames, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t t = r % frames;
      for (std::int64_t c = 0; c < channels; ++c) {
        float v = b ? b[c] : 0.0f;
        for (std::int64_t j = 0; j < kernel; ++j) {
          const std::int64_t s = t + j - pad;
          if (s >= 0 && s < frames) v += z[(r - t + s) * kernel * channels + j * channels + c];
        }
        y[r * channels + c] = v;
      }
    }
  });
}

void CpuBackend::gated_add(const Tensor& x, const Tensor& y, const Tensor& gate, Tensor& out) {
  constexpr std::string_view op = "gated_add";
  check_same(x, out, op);
  check_tensor(y, DType::F32, op, "y");
  check_shape(y, x.shape(), op, "y");
  check_batched(x, gate, op, "gate");
  const std::int64_t batch = x.dim(0), len = x.dim(1), dim = x.dim(2);
  const float* xs = x.data<float>();
  const float* ys = y.data<float>();
  const float* g = gate.data<float>();
  float* o = out.data<float>();
  parallel_for(batch * len, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* gb = g + (r / len) * dim;
      for (std::int64_t d = 0; d < dim; ++d) o[r * dim + d] = xs[r * dim + d] + gb[d] * ys[r * dim + d];
    }
  });
}

void CpuBackend::silu(const Tensor& x, Tensor& out) {
  const std::int64_t n = check_same(x, out, "silu");
  const float* xs = x.data<float>();
  float* y = out.data<float>();
  for_each_element(n, [&](std::int64_t i) { y[i] = xs[i] / (1.0f + std::exp(-xs[i])); });
}

void CpuBackend::add_row(const Tensor& x, const Tensor& row, Tensor& out) {
  constexpr std::string_view op = "add_row";
  check_same(x, out, op);
  check_rank(x, 2, op, "x");
  check_tensor(row, DType::F32, op, "row");
  check_shape(row, {x.dim(1)}, op, "row");
  const std::int64_t width = x.dim(1);
  const float* xs = x.data<float>();
  const float* rs = row.data<float>();
  float* y = out.data<float>();
  for_each_element(x.numel(), [&](std::int64_t i) { y[i] = xs[i] + rs[i % width]; });
}

void CpuBackend::axpby(float alpha, const Tensor& a, float beta, const Tensor& b, Tensor& out) {
  constexpr std::string_view op = "axpby";
  const std::int64_t n = check_same(a, out, op);
  check_tensor(b, DType::F32, op, "b");
  check_shape(b, a.shape(), op, "b");
  const float* as = a.data<float>();
  const float* bs = b.data<float>();
  float* y = out.data<float>();
  for_each_element(n, [&](std::int64_t i) { y[i] = alpha * as[i] + beta * bs[i]; });
}

void CpuBackend::transpose(const Tensor& x, Tensor& out) {
  constexpr std::string_view op = "transpose";
  check_tensor(x, DType::F32, op, "x");
  check_tensor(out, DType::F32, op, "out");
  check_that(x.rank() == 2 || x.rank() == 3, op, "x must have rank 2 or 3, has " + shape_str(x.shape()));
  const std::int64_t outer = x.rank() == 3 ? x.dim(0) : 1, rows = x.dim(-2), cols = x.dim(-1);
  check_shape(out, x.rank() == 3 ? Shape{outer, cols, rows} : Shape{cols, rows}, op, "out");
  check_that(x.raw() != out.raw() || x.numel() == 0, op, "out must not alias x");
  const float* xs = x.data<float>();
  float* y = out.data<float>();
  const std::int64_t row_blocks = (rows + kTransposeBlock - 1) / kTransposeBlock;
  parallel_for(outer * row_blocks, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t a = task / row_blocks, r0 = task % row_blocks * kTransposeBlock;
      const std::int64_t r1 = std::min(rows, r0 + kTransposeBlock);
      const float* xa = xs + a * rows * cols;
      float* ya = y + a * rows * cols;
      for (std::int64_t c0 = 0; c0 < cols; c0 += kTransposeBlock)
        for (std::int64_t c = c0; c < std::min(cols, c0 + kTransposeBlock); ++c)
          for (std::int64_t r = r0; r < r1; ++r) ya[c * rows + r] = xa[r * cols + c];
    }
  });
}

void CpuBackend::write_columns(const Tensor& src, Tensor& dst, std::int64_t offset) {
  constexpr std::string_view op = "write_columns";
  check_tensor(src, DType::F32, op, "src");
  check_tensor(dst, DType::F32, op, "dst");
  check_that(src.rank() >= 1 && src.rank() == dst.rank(), op,
             "src " + shape_str(src.shape()) + " and dst " + shape_str(dst.shape()) + " differ in rank");
  const std::int64_t n = src.dim(-1), width = dst.dim(-1);
  check_that(dst.numel() / std::max<std::int64_t>(width, 1) * n == src.numel() || n == 0, op,
             "src " + shape_str(src.shape()) + " and dst " + shape_str(dst.shape()) + " differ in leading dimensions");
  check_that(offset >= 0 && offset + n <= width, op,
             "columns [" + std::to_string(offset) + ", " + std::to_string(offset + n) + ") outside " +
                 std::to_string(width));
  const std::int64_t rows = n == 0 ? 0 : src.numel() / n;
  const float* s = src.data<float>();
  float* d = dst.data<float>();
  for (std::int64_t r = 0; r < rows; ++r)
    std::memcpy(d + r * width + offset, s + r * n, static_cast<std::size_t>(n) * sizeof(float));
}

void CpuBackend::read_columns(const Tensor& src, std::int64_t offset, Tensor& dst) {
  constexpr std::string_view op = "read_columns";
  check_tensor(src, DType::F32, op, "src");
  check_tensor(dst, DType::F32, op, "dst");
  check_that(src.rank() >= 1 && src.rank() == dst.rank(), op,
             "src " + shape_str(src.shape()) + " and dst " + shape_str(dst.shape()) + " differ in rank");
  const std::int64_t n = dst.dim(-1), width = src.dim(-1);
  check_that(src.numel() / std::max<std::int64_t>(width, 1) * n == dst.numel() || n == 0, op,
             "src " + shape_str(src.shape()) + " and dst " + shape_str(dst.shape()) + " differ in leading dimensions");
  check_that(offset >= 0 && offset + n <= width, op,
             "columns [" + std::to_string(offset) + ", " + std::to_string(offset + n) + ") outside " +
                 std::to_string(width));
  const std::int64_t rows = n == 0 ? 0 : dst.numel() / n;
  const float* s = src.data<float>();
  float* d = dst.data<float>();
  for (std::int64_t r = 0; r < rows; ++r)
    std::memcpy(d + r * n, s + r * width + offset, static_cast<std::size_t>(n) * sizeof(float));
}

void CpuBackend::round_to_grid(const Tensor& x, float levels, Tensor& out) {
  const std::int64_t n = check_same(x, out, "round_to_grid");
  check_that(levels > 0.0f, "round_to_grid", "levels must be positive");
  const float* xs = x.data<float>();
  float* y = out.data<float>();
  // nearbyint rounds halves to even in the default rounding mode, like torch.round.
  for_each_element(n, [&](std::int64_t i) { y[i] = std::nearbyint(xs[i] * levels) / levels; });
}

void CpuBackend::repeat_last(const Tensor& x, std::int64_t factor, Tensor& out) {
  constexpr std::string_view op = "repeat_last";
  check_tensor(x, DType::F32, op, "x");
  check_tensor(out, DType::F32, op, "out");
  check_that(factor >= 1 && x.rank() >= 1, op, "factor must be >= 1 and x at least rank 1");
  Shape expected = x.shape();
  expected.back() *= factor;
  check_shape(out, expected, op, "out");
  const float* xs = x.data<float>();
  float* y = out.data<float>();
  for_each_element(x.numel(), [&](std::int64_t i) { std::fill(y + i * factor, y + (i + 1) * factor, xs[i]); });
}

void CpuBackend::timestep_embedding(const Tensor& t, float scale, float max_period, Tensor& out) {
  constexpr std::string_view op = "timestep_embedding";
  check_tensor(t, DType::F32, op, "t");
  check_tensor(out, DType::F32, op, "out");
  check_rank(t, 1, op, "t");
  check_rank(out, 2, op, "out");
  const std::int64_t batch = t.dim(0), dim = out.dim(1), half = dim / 2;
  check_shape(out, {batch, dim}, op, "out");
  check_that(dim % 2 == 0, op, "embedding size " + std::to_string(dim) + " is odd");
  const float* ts = t.data<float>();
  float* y = out.data<float>();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < half; ++i) {
      const double freq = std::exp(-std::log(static_cast<double>(max_period)) * static_cast<double>(i) /
                                   static_cast<double>(half));
      const double arg = static_cast<double>(ts[b]) * static_cast<double>(scale) * freq;
      y[b * dim + i] = static_cast<float>(std::cos(arg));
      y[b * dim + half + i] = static_cast<float>(std::sin(arg));
    }
}

void CpuBackend::crossfade(const Tensor& a, const Tensor& b, Tensor& out) {
  constexpr std::string_view op = "crossfade";
  check_same(a, out, op);
  check_tensor(b, DType::F32, op, "b");
  check_shape(b, a.shape(), op, "b");
  check_that(a.rank() >= 1, op, "a must have rank >= 1");
  const std::int64_t n = a.dim(-1);
  const double step = n > 1 ? 1.0 / static_cast<double>(n - 1) : 0.0;
  const float* as = a.data<float>();
  const float* bs = b.data<float>();
  float* y = out.data<float>();
  for_each_element(a.numel(), [&](std::int64_t i) {
    const double w = static_cast<double>(i % n) * step;
    y[i] = static_cast<float>(as[i] * (1.0 - w) + bs[i] * w);
  });
}

}  // namespace hs
