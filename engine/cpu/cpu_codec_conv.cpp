// CpuBackend codec convolutions: conv1d through im2col + one BLAS GEMM per tile of output columns,
// conv_transpose1d through one GEMM per tile of input columns + a scatter-add (col2im). Tiles keep
// the column buffer near cache size, so long audio-rate signals never need a whole-signal im2col.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/core/parallel.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {

using cpu::check_rank;
using cpu::check_shape;
using cpu::check_tensor;
using cpu::check_that;

// Target size of one column tile (floats): ~2 MB keeps it in the last-level cache ...
constexpr std::int64_t kTileFloats = std::int64_t{1} << 19;
// ... but never fewer columns than this, so the GEMM's N stays wide enough to reuse weights.
constexpr std::int64_t kMinTileColumns = 256;
constexpr std::int64_t kRowGrain = 8;

std::int64_t tile_columns(std::int64_t rows_per_column, std::int64_t total) {
  const std::int64_t by_size = kTileFloats / std::max<std::int64_t>(rows_per_column, 1);
  return std::max<std::int64_t>(1, std::min(total, std::max(kMinTileColumns, by_size)));
}

// y[r, j] = bias[r] (or 0) for rows r of a [rows, cols] block with leading dimension ld.
void fill_bias(float* y, std::int64_t rows, std::int64_t cols, std::int64_t ld, const float* bias) {
  for (std::int64_t r = 0; r < rows; ++r) std::fill(y + r * ld, y + r * ld + cols, bias ? bias[r] : 0.0f);
}

void check_bias(const Tensor* bias, std::int64_t channels, std::string_view op) {
  if (!bias) return;
  check_tensor(*bias, DType::F32, op, "bias");
  check_shape(*bias, {channels}, op, "bias");
}

// cols[(c·K + k), j] = xp[c, (t0 + j)·stride + k·dilation] for j < n, xp = x padded on the left.
void im2col(const float* x, std::int64_t cin, std::int64_t len, std::int64_t kernel, const Conv1dParams& p,
            std::int64_t t0, std::int64_t n, float* cols) {
  parallel_for(cin, kRowGrain, [&](std::int64_t c_begin, std::int64_t c_end) {
    for (std::int64_t c = c_begin; c < c_end; ++c) {
      const float* xc = x + c * len;
      for (std::int64_t k = 0; k < kernel; ++k) {
        float* row = cols + (c * kernel + k) * n;
        const std::int64_t first = t0 * p.stride + k * p.dilation - p.pad_left;  // input index of j = 0
        if (p.stride == 1) {
          // Contiguous run: zeros where the padded index falls outside [0, len).
          const std::int64_t lo = std::clamp<std::int64_t>(-first, 0, n);
          const std::int64_t hi = std::clamp<std::int64_t>(len - first, lo, n);
          std::fill(row, row + lo, 0.0f);
          if (hi > lo) std::memcpy(row + lo, xc + first + lo, static_cast<std::size_t>(hi - lo) * sizeof(float));
          std::fill(row + hi, row + n, 0.0f);
        } else {
          for (std::int64_t j = 0; j < n; ++j) {
            const std::int64_t i = first + j * p.stride;
            row[j] = i >= 0 && i < len ? xc[i] : 0.0f;
          }
        }
      }
    }
  });
}

}  // namespace

void CpuBackend::conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv1dParams& params,
                        Tensor& out) {
  constexpr std::string_view op = "conv1d";
  check_tensor(x, DType::F32, op, "x");
  check_tensor(weight, DType::F32, op, "weight");
  check_tensor(out, DType::F32, op, "out");
  check_rank(x, 3, op, "x");
  check_rank(weight, 3, op, "weight");
  const std::int64_t batch = x.dim(0), cin = x.dim(1), len = x.dim(2);
  const std::int64_t cout = weight.dim(0), kernel = weight.dim(2);
  check_shape(weight, {cout, cin, kernel}, op, "weight");
  check_bias(bias, cout, op);
  check_that(params.stride >= 1 && params.dilation >= 1 && params.pad_left >= 0 && params.pad_right >= 0, op,
             "stride and dilation must be >= 1 and padding >= 0");
  const std::int64_t span = params.dilation * (kernel - 1) + 1;
  const std::int64_t padded = len + params.pad_left + params.pad_right;
  check_that(padded >= span, op,
             "padded input length " + std::to_string(padded) + " is shorter than the kernel span " +
                 std::to_string(span));
  const std::int64_t out_len = (padded - span) / params.stride + 1;
  check_shape(out, {batch, cout, out_len}, op, "out");
  check_that(x.raw() != out.raw(), op, "out must not alias x");

  const std::int64_t depth = cin * kernel;  // GEMM inner dimension
  const float* w = weight.data<float>();
  const float* b = bias ? bias->data<float>() : nullptr;
  const bool direct = kernel == 1 && params.stride == 1 && params.pad_left == 0 && params.pad_right == 0;
  const std::int64_t tile = direct ? out_len : tile_columns(depth, out_len);
  std::vector<float> cols(direct ? 0 : static_cast<std::size_t>(depth * tile));
  for (std::int64_t bi = 0; bi < batch; ++bi) {
    const float* xb = x.data<float>() + bi * cin * len;
    float* yb = out.data<float>() + bi * cout * out_len;
    for (std::int64_t t0 = 0; t0 < out_len; t0 += tile) {
      const std::int64_t n = std::min(tile, out_len - t0);
      const float* src = xb;
      std::int64_t ldb = len;
      if (!direct) {
        im2col(xb, cin, len, kernel, params, t0, n, cols.data());
        src = cols.data();
        ldb = n;
      }
      fill_bias(yb + t0, cout, n, out_len, b);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(cout), static_cast<int>(n),
                  static_cast<int>(depth), 1.0f, w, static_cast<int>(depth), src, static_cast<int>(ldb), 1.0f,
                  yb + t0, static_cast<int>(out_len));
    }
  }
}

void CpuBackend::conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias, std::int64_t stride,
                                  std::int64_t skip, Tensor& out) {
  constexpr std::string_view op = "conv_transpose1d";
  check_tensor(x, DType::F32, op, "x");
  check_tensor(weight, DType::F32, op, "weight");
  check_tensor(out, DType::F32, op, "out");
  check_rank(x, 3, op, "x");
  check_rank(weight, 3, op, "weight");
  check_rank(out, 3, op, "out");
  const std::int64_t batch = x.dim(0), cin = x.dim(1), len = x.dim(2);
  const std::int64_t cout = weight.dim(1), kernel = weight.dim(2), out_len = out.dim(2);
  check_shape(weight, {cin, cout, kernel}, op, "weight");
  check_shape(out, {batch, cout, out_len}, op, "out");
  check_bias(bias, cout, op);
  check_that(stride >= 1 && skip >= 0, op, "stride must be >= 1 and skip >= 0");
  const std::int64_t full_len = len == 0 ? 0 : (len - 1) * stride + kernel;
  check_that(skip + out_len <= full_len, op,
             "skip " + std::to_string(skip) + " + length " + std::to_string(out_len) + " exceeds the full output " +
                 std::to_string(full_len));
  check_that(x.raw() != out.raw(), op, "out must not alias x");

  const std::int64_t rows = cout * kernel;  // GEMM output rows: (o, k) pairs
  const std::int64_t tile = tile_columns(rows, std::max<std::int64_t>(len, 1));
  std::vector<float> cols(static_cast<std::size_t>(rows * tile));
  const float* w = weight.data<float>();
  const float* b = bias ? bias->data<float>() : nullptr;
  for (std::int64_t bi = 0; bi < batch; ++bi) {
    const float* xb = x.data<float>() + bi * cin * len;
    float* yb = out.data<float>() + bi * cout * out_len;
    fill_bias(yb, cout, out_len, out_len, b);
    for (std::int64_t t0 = 0; t0 < len; t0 += tile) {
      const std::int64_t n = std::min(tile, len - t0);
      // Only input columns whose kernel footprint [t·stride, t·stride + K) meets the kept range.
      if ((t0 + n - 1) * stride + kernel <= skip || t0 * stride >= skip + out_len) continue;
      // cols[(o·K + k), j] = Σ_c weight[c, o, k] · x[c, t0 + j]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(n),
                  static_cast<int>(cin), 1.0f, w, static_cast<int>(rows), xb + t0, static_cast<int>(len), 0.0f,
                  cols.data(), static_cast<int>(n));
      parallel_for(cout, kRowGrain, [&](std::int64_t o_begin, std::int64_t o_end) {
        for (std::int64_t o = o_begin; o < o_end; ++o)
          for (std::int64_t k = 0; k < kernel; ++k) {
            const float* row = cols.data() + (o * kernel + k) * n;
            float* yo = yb + o * out_len;
            for (std::int64_t j = 0; j < n; ++j) {
              const std::int64_t pos = (t0 + j) * stride + k - skip;
              if (pos >= 0 && pos < out_len) yo[pos] += row[j];
            }
          }
      });
    }
  }
}

}  // namespace hs
