#include "engine/core/q4_quantize.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "engine/core/parallel.h"

namespace hs {
namespace {

Q4Levels nf4_levels() {
  constexpr std::array<float, 16> kBitsandbytes{
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
      -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
      0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
      0.7229568362236023f, 1.0f};
  Q4Levels l{{}, 1.0f};
  for (int c = 0; c < 16; ++c) l.levels[c] = bf16_to_f32(f32_to_bf16(kBitsandbytes[c]));
  return l;
}

constexpr Q4Levels int4_levels() {
  Q4Levels l{{}, 1.0f / 7.0f};
  for (int c = 0; c < 16; ++c) l.levels[c] = static_cast<float>(c - 8);
  return l;
}

constexpr std::array<float, 16> table_of(const Q4Levels& l) {
  std::array<float, 16> t{};
  for (int c = 0; c < 16; ++c) t[c] = l.levels[c] * l.unit;
  return t;
}

constexpr Q4Levels kInt4 = int4_levels();
constexpr std::array<float, 16> kInt4Table = table_of(kInt4);

constexpr std::int64_t kRowsPerChunk = 16;

}  // namespace

const Q4Levels& q4_levels(Q4Format format) {
  static const Q4Levels nf4 = nf4_levels();
  return format == Q4Format::NF4 ? nf4 : kInt4;
}

const std::array<float, 16>& q4_table(Q4Format format) {
  static const std::array<float, 16> nf4 = table_of(q4_levels(Q4Format::NF4));
  return format == Q4Format::NF4 ? nf4 : kInt4Table;
}

Q4Weight quantize_q4(const Tensor& weight, Q4Format format) {
  if (!weight.defined() || weight.device() != Device::Cpu || weight.rank() != 2 || !is_float(weight.dtype()))
    throw InvalidArgument("quantize_q4: weight must be a host float [out, in] tensor");
  const std::int64_t rows = weight.dim(0), cols = weight.dim(1);
  if (cols % kQ4Block != 0)
    throw InvalidArgument("quantize_q4: in_features " + std::to_string(cols) + " is not a multiple of " +
                          std::to_string(kQ4Block));
  const std::array<float, 16>& table = q4_table(format);
  std::array<float, 15> midpoints{};  // code c for values in (midpoints[c - 1], midpoints[c]]
  for (int c = 0; c < 15; ++c) midpoints[c] = 0.5f * (table[c] + table[c + 1]);
  Q4Weight q{Tensor::zeros({rows, cols / 2}, DType::U8), Tensor::zeros({rows, cols / kQ4Block}, DType::F32)};
  const Tensor w = weight.to_f32();
  const float* src = w.data<float>();
  std::uint8_t* codes = q.codes.data<std::uint8_t>();
  float* scales = q.scales.data<float>();
  parallel_for(rows, kRowsPerChunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r)
      for (std::int64_t b = 0; b < cols / kQ4Block; ++b) {
        const float* block = src + r * cols + b * kQ4Block;
        float amax = 0.0f;
        for (std::int64_t i = 0; i < kQ4Block; ++i) amax = std::max(amax, std::fabs(block[i]));
        const float scale = amax > 0.0f ? amax : 1.0f;
        scales[r * (cols / kQ4Block) + b] = scale;
        for (std::int64_t i = 0; i < kQ4Block; i += 2) {
          std::uint8_t pair = 0;
          for (std::int64_t h = 0; h < 2; ++h) {
            const float v = block[i + h] / scale;
            const auto code = static_cast<std::uint8_t>(std::lower_bound(midpoints.begin(), midpoints.end(), v) -
                                                        midpoints.begin());
            pair |= static_cast<std::uint8_t>(code << (4 * h));
          }
          codes[(r * cols + b * kQ4Block + i) / 2] = pair;
        }
      }
  });
  return q;
}

Tensor dequantize_q4(const Q4Weight& q, Q4Format format) {
  if (!q.codes.defined() || !q.scales.defined() || q.codes.rank() != 2)
    throw InvalidArgument("dequantize_q4: codes must be U8 [out, in / 2] and scales F32 [out, in / 64]");
  const std::int64_t rows = q.codes.dim(0), cols = 2 * q.codes.dim(1);
  if (q.codes.dtype() != DType::U8 || q.scales.dtype() != DType::F32 || cols % kQ4Block != 0 ||
      q.scales.shape() != Shape{rows, cols / kQ4Block})
    throw InvalidArgument("dequantize_q4: codes must be U8 [out, in / 2] and scales F32 [out, in / 64]");
  const std::array<float, 16>& table = q4_table(format);
  Tensor out = Tensor::zeros({rows, cols}, DType::F32);
  const std::uint8_t* codes = q.codes.data<std::uint8_t>();
  const float* scales = q.scales.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    const std::uint8_t code = (codes[i / 2] >> (4 * (i % 2))) & 0xf;
    dst[i] = table[code] * scales[(i / cols) * (cols / kQ4Block) + (i % cols) / kQ4Block];
  }
  return out;
}

}  // namespace hs
