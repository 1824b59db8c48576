#include "engine/core/fp8_quantize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/parallel.h"

namespace hs {
namespace {

constexpr std::int64_t kElementsPerChunk = 1 << 16;  // parallel_for grain, in elements

std::int64_t rows_per_chunk(std::int64_t cols) { return std::max<std::int64_t>(1, kElementsPerChunk / std::max<std::int64_t>(1, cols)); }

void check_host_matrix(const Tensor& t, std::string_view op, std::string_view arg) {
  if (!t.defined() || t.device() != Device::Cpu || t.rank() != 2)
    throw InvalidArgument(std::string(op) + ": " + std::string(arg) + " must be a defined host [out, in] tensor, got " +
                          (t.defined() ? shape_str(t.shape()) : std::string("undefined")));
}

}  // namespace

QuantizedWeight quantize_e4m3_rows(const Tensor& weight) {
  constexpr std::string_view op = "quantize_e4m3_rows";
  check_host_matrix(weight, op, "weight");
  if (!is_float(weight.dtype()))
    throw InvalidArgument(std::string(op) + ": weight dtype " + std::string(dtype_name(weight.dtype())) +
                          " is not a float type");
  const std::int64_t rows = weight.dim(0), cols = weight.dim(1);
  QuantizedWeight q{Tensor::zeros({rows, cols}, DType::F8_E4M3), Tensor::zeros({rows}, DType::F32)};
  const auto* src = static_cast<const unsigned char*>(weight.raw());
  const std::size_t row_bytes = static_cast<std::size_t>(cols) * dtype_size(weight.dtype());
  std::uint8_t* values = q.values.data<std::uint8_t>();
  float* scales = q.scales.data<float>();
  const DType dtype = weight.dtype();
  parallel_for(rows, rows_per_chunk(cols), [=](std::int64_t begin, std::int64_t end) {
    std::vector<float> buffer(static_cast<std::size_t>(cols));
    float* const row = buffer.data();
    for (std::int64_t r = begin; r < end; ++r) {
      convert_to_f32(dtype, src + r * row_bytes, row, buffer.size());
      float amax = 0.0f;
      for (std::int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(row[c]));  // skips NaN, as fmaxf does
      const float scale = amax > 0.0f ? amax / kE4m3MaxFinite : 1.0f;
      scales[r] = scale;
      std::uint8_t* const out = values + r * cols;
      for (std::int64_t c = 0; c < cols; ++c) out[c] = f32_to_e4m3(row[c] / scale);
    }
  });
  return q;
}

Tensor dequantize_e4m3_rows(const Tensor& values, const Tensor& scales) {
  constexpr std::string_view op = "dequantize_e4m3_rows";
  check_host_matrix(values, op, "values");
  if (values.dtype() != DType::F8_E4M3)
    throw InvalidArgument(std::string(op) + ": values dtype " + std::string(dtype_name(values.dtype())) +
                          " is not F8_E4M3");
  const std::int64_t rows = values.dim(0), cols = values.dim(1);
  if (!scales.defined() || scales.device() != Device::Cpu || scales.dtype() != DType::F32 ||
      scales.shape() != Shape{rows})
    throw InvalidArgument(std::string(op) + ": scales must be a host F32 [" + std::to_string(rows) + "] tensor, got " +
                          (scales.defined() ? std::string(dtype_name(scales.dtype())) + " " + shape_str(scales.shape())
                                            : std::string("undefined")));
  static const std::array<float, 256> kDecoded = [] {
    std::array<float, 256> table{};
    for (int code = 0; code < 256; ++code) table[code] = e4m3_to_f32(static_cast<std::uint8_t>(code));
    return table;
  }();
  Tensor out = Tensor::zeros({rows, cols}, DType::F32);
  const std::uint8_t* q = values.data<std::uint8_t>();
  const float* s = scales.data<float>();
  float* w = out.data<float>();
  parallel_for(rows, rows_per_chunk(cols), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r)
      for (std::int64_t c = 0; c < cols; ++c) w[r * cols + c] = kDecoded[q[r * cols + c]] * s[r];
  });
  return out;
}

}  // namespace hs
