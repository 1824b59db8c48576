// 4-bit weights (engine/core/q4_quantize.h) against a brute-force reading of their rule: every
// block's scale is its max |w|, every code the nearest table entry to w / scale (checked over all
// 16), two codes a byte with the even column low, the round trip within half the widest gap of the
// table, and the CPU backend holding exactly the dequantized values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/core/error.h"
#include "engine/core/q4_quantize.h"

namespace hs {
namespace {

Tensor normal_weight(std::int64_t rows, std::int64_t cols, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  Tensor w = Tensor::zeros({rows, cols}, DType::F32);
  for (std::int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = normal(gen);
  for (std::int64_t c = 0; c < kQ4Block; ++c) w.data<float>()[c] = 0.0f;  // an all-zero block
  return w;
}

std::uint8_t code_at(const Q4Weight& q, std::int64_t r, std::int64_t c) {
  return (q.codes.data<std::uint8_t>()[r * q.codes.dim(1) + c / 2] >> (4 * (c % 2))) & 0xf;
}

class Q4Quantize : public ::testing::TestWithParam<Q4Format> {};

TEST_P(Q4Quantize, NearestTableEntryOfEachBlocksMaxScale) {
  const Q4Format format = GetParam();
  const std::array<float, 16>& table = q4_table(format);
  const std::int64_t rows = 7, cols = 256;
  const Tensor w = normal_weight(rows, cols, 3);
  const Q4Weight q = quantize_q4(w, format);
  ASSERT_EQ(q.codes.shape(), (Shape{rows, cols / 2}));
  ASSERT_EQ(q.scales.shape(), (Shape{rows, cols / kQ4Block}));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t b = 0; b < cols / kQ4Block; ++b) {
      float amax = 0.0f;
      for (std::int64_t i = 0; i < kQ4Block; ++i) amax = std::max(amax, std::fabs(w.data<float>()[r * cols + b * kQ4Block + i]));
      const float scale = q.scales.data<float>()[r * (cols / kQ4Block) + b];
      EXPECT_EQ(scale, amax > 0.0f ? amax : 1.0f) << r << ", block " << b;
      for (std::int64_t i = 0; i < kQ4Block; ++i) {
        const std::int64_t c = b * kQ4Block + i;
        const float v = w.data<float>()[r * cols + c] / scale;
        const std::uint8_t code = code_at(q, r, c);
        for (int j = 0; j < 16; ++j)  // no entry is nearer; a tie goes to the lower index
          EXPECT_TRUE(std::fabs(v - table[code]) < std::fabs(v - table[j]) ||
                      (std::fabs(v - table[code]) == std::fabs(v - table[j]) && code <= j))
              << "row " << r << " column " << c << ": code " << int(code) << " against " << j;
      }
    }
}

TEST_P(Q4Quantize, RoundTripWithinHalfTheWidestGap) {
  const Q4Format format = GetParam();
  const std::array<float, 16>& table = q4_table(format);
  float gap = 0.0f;
  for (int c = 0; c < 15; ++c) gap = std::max(gap, table[c + 1] - table[c]);
  const Tensor w = normal_weight(16, 512, 4);
  const Q4Weight q = quantize_q4(w, format);
  const Tensor back = dequantize_q4(q, format);
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    const float scale = q.scales.data<float>()[(i / 512) * 8 + (i % 512) / kQ4Block];
    EXPECT_LE(std::fabs(back.data<float>()[i] - w.data<float>()[i]), 0.5f * gap * scale * (1 + 1e-6f)) << i;
  }
}

// Table values times a block scale of 0.5 come back exactly, their codes in column order, two a
// byte. (INT4's entry 0, -8/7, lies past the block's max: its columns hold -1 = entry 1 instead.)
TEST_P(Q4Quantize, CodesOfExactValuesInTheirNibbles) {
  const Q4Format format = GetParam();
  const std::array<float, 16>& table = q4_table(format);
  const auto code_of = [&](std::int64_t c) { return format == Q4Format::INT4 && c % 16 == 0 ? 1 : static_cast<int>(c % 16); };
  Tensor w = Tensor::zeros({1, kQ4Block}, DType::F32);
  for (std::int64_t c = 0; c < kQ4Block; ++c) w.data<float>()[c] = 0.5f * table[code_of(c)];
  const Q4Weight q = quantize_q4(w, format);
  EXPECT_EQ(q.scales.data<float>()[0], 0.5f);
  for (std::int64_t c = 0; c < kQ4Block; ++c) EXPECT_EQ(code_at(q, 0, c), code_of(c)) << c;
  EXPECT_EQ(q.codes.data<std::uint8_t>()[1], code_of(2) | code_of(3) << 4);
  const Tensor back = dequantize_q4(q, format);
  for (std::int64_t c = 0; c < kQ4Block; ++c) EXPECT_EQ(back.data<float>()[c], w.data<float>()[c]) << c;
}

TEST_P(Q4Quantize, RowsOfPartBlocksAreRefused) {
  EXPECT_THROW(quantize_q4(Tensor::zeros({2, 96}, DType::F32), GetParam()), InvalidArgument);
  EXPECT_THROW(quantize_q4(Tensor::zeros({2, 64}, DType::I32), GetParam()), InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Formats, Q4Quantize, ::testing::Values(Q4Format::NF4, Q4Format::INT4),
                         [](const auto& info) { return info.param == Q4Format::NF4 ? "nf4" : "int4"; });

}  // namespace
}  // namespace hs
