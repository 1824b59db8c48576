// FP8 E4M3 narrowing and the per-output-channel weight quantizer (engine/core/fp8_quantize.h):
// hand-computed codes, the bit-twiddling conversion against an exhaustive nearest-code search, and
// the rule of kernels/quantize_fp8.cu (scale = amax / 448, 1 for an all-zero row; x / scale rounded
// to nearest even, saturating). tests/gpu/linear_test.cpp checks the GPU kernel bit for bit.
#include "engine/core/fp8_quantize.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::uint8_t kMaxCode = 0x7e;  // 448
constexpr std::uint8_t kNanCode = 0x7f;

float pow2(int e) { return std::ldexp(1.0f, e); }

// The nearest finite E4M3 code by search over all of them, ties to the even code; saturating.
std::uint8_t search_e4m3(float value) {
  if (std::isnan(value)) return kNanCode;
  const std::uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  const float a = std::fabs(value);
  std::uint8_t best = 0;
  float best_err = a;
  for (std::uint8_t code = 1; code <= kMaxCode; ++code) {
    const float err = std::fabs(e4m3_to_f32(code) - a);
    if (err < best_err || (err == best_err && (code & 1) == 0)) {
      best = code;
      best_err = err;
    }
  }
  return sign | best;
}

Tensor matrix(std::int64_t rows, std::int64_t cols, const std::vector<float>& values) {
  return Tensor::from_f32({rows, cols}, values);
}

TEST(E4m3, HandComputedCodes) {
  EXPECT_EQ(f32_to_e4m3(1.0f), 0x38);
  EXPECT_EQ(f32_to_e4m3(-1.5f), 0xbc);
  EXPECT_EQ(f32_to_e4m3(240.0f), 0x77);               // 1.875 · 2^7
  EXPECT_EQ(f32_to_e4m3(pow2(-6)), 0x08);             // smallest normal
  EXPECT_EQ(f32_to_e4m3(7 * pow2(-9)), 0x07);         // largest subnormal
  EXPECT_EQ(f32_to_e4m3(pow2(-9)), 0x01);             // smallest subnormal
  EXPECT_EQ(f32_to_e4m3(-0.0f), 0x80);
  // Ties go to the even mantissa: 1 + 1/16 lies between 1 (0x38) and 1.125 (0x39), 1 + 3/16
  // between 1.125 and 1.25 (0x3a); 2^-10 between 0 and 2^-9; 3 · 2^-10 between 2^-9 and 2^-8.
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(1.0625f, 2.0f)), 0x39);
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(1.1875f, 0.0f)), 0x39);
  EXPECT_EQ(f32_to_e4m3(pow2(-10)), 0x00);
  EXPECT_EQ(f32_to_e4m3(-pow2(-10)), 0x80);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(pow2(-10), 1.0f)), 0x01);
  EXPECT_EQ(f32_to_e4m3(3 * pow2(-10)), 0x02);
  EXPECT_EQ(f32_to_e4m3(15 * pow2(-10)), 0x08);       // the tie between 7 · 2^-9 and 2^-6 carries up
  // Saturation at 448: 464 ties to 448 (the next code up would be NaN), beyond it saturates.
  EXPECT_EQ(f32_to_e4m3(448.0f), kMaxCode);
  EXPECT_EQ(f32_to_e4m3(464.0f), kMaxCode);
  EXPECT_EQ(f32_to_e4m3(std::nextafter(464.0f, 1e9f)), kMaxCode);
  EXPECT_EQ(f32_to_e4m3(1e30f), kMaxCode);
  EXPECT_EQ(f32_to_e4m3(INFINITY), kMaxCode);
  EXPECT_EQ(f32_to_e4m3(-INFINITY), 0x80 | kMaxCode);
  EXPECT_EQ(f32_to_e4m3(std::nanf("")), kNanCode);
}

TEST(E4m3, MatchesANearestCodeSearch) {
  // Bit patterns spread over the whole float range, and every code midpoint with its neighbours.
  for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 4093) {
    const float v = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    ASSERT_EQ(f32_to_e4m3(v), search_e4m3(v)) << "bits " << std::hex << bits;
  }
  for (int code = 0; code < kMaxCode; ++code) {
    const float mid = 0.5f * (e4m3_to_f32(static_cast<std::uint8_t>(code)) + e4m3_to_f32(static_cast<std::uint8_t>(code + 1)));
    for (const float v : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)})
      for (const float s : {v, -v}) ASSERT_EQ(f32_to_e4m3(s), search_e4m3(s)) << s;
  }
}

TEST(QuantizeE4m3Rows, HandComputedRow) {
  // amax 2: scale 2/448; 1 → 224 (0x76), −2 → −448 (0xfe), 0.5 → 112 (0x6e), 0 → 0.
  const QuantizedWeight q = quantize_e4m3_rows(matrix(1, 4, {1.0f, -2.0f, 0.5f, 0.0f}));
  ASSERT_EQ(q.values.dtype(), DType::F8_E4M3);
  ASSERT_EQ(q.values.shape(), (Shape{1, 4}));
  ASSERT_EQ(q.scales.shape(), (Shape{1}));
  EXPECT_EQ(q.scales.data<float>()[0], 2.0f / 448.0f);
  const std::uint8_t* v = q.values.data<std::uint8_t>();
  EXPECT_EQ(v[0], 0x76);
  EXPECT_EQ(v[1], 0xfe);
  EXPECT_EQ(v[2], 0x6e);
  EXPECT_EQ(v[3], 0x00);
}

TEST(QuantizeE4m3Rows, ScaleOneRowRoundsToNearestEven) {
  // amax 448 gives scale 1, so the codes are plain E4M3 roundings, ties included.
  const QuantizedWeight q =
      quantize_e4m3_rows(matrix(1, 6, {448.0f, 1.0625f, 1.1875f, -1.0625f, pow2(-10), 3 * pow2(-10)}));
  EXPECT_EQ(q.scales.data<float>()[0], 1.0f);
  const std::uint8_t want[] = {kMaxCode, 0x38, 0x3a, 0xb8, 0x00, 0x02};
  EXPECT_EQ(std::memcmp(q.values.raw(), want, sizeof(want)), 0);
}

TEST(QuantizeE4m3Rows, ZeroRowsGetScaleOne) {
  const QuantizedWeight q = quantize_e4m3_rows(matrix(3, 2, {0.0f, 0.0f, 1.0f, -3.0f, -0.0f, -0.0f}));
  EXPECT_EQ(q.scales.data<float>()[0], 1.0f);
  EXPECT_EQ(q.scales.data<float>()[1], 3.0f / 448.0f);
  EXPECT_EQ(q.scales.data<float>()[2], 1.0f);
  const std::uint8_t* v = q.values.data<std::uint8_t>();
  EXPECT_EQ(v[0], 0x00);
  EXPECT_EQ(v[1], 0x00);
  EXPECT_EQ(v[3], 0x80 | kMaxCode);  // the row's amax maps onto −448
  EXPECT_EQ(v[4], 0x80);             // −0 / 1 keeps its sign, as on the GPU
  EXPECT_EQ(v[5], 0x80);
}

TEST(QuantizeE4m3Rows, MatchesTheRowRuleAndNeverSaturatesPastTheMax) {
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::int64_t rows = 301, cols = 517;  // several parallel chunks
  std::vector<float> values(static_cast<std::size_t>(rows * cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    const float row_scale = std::ldexp(1.0f, static_cast<int>(r % 40) - 20);  // 2^-20 .. 2^19
    for (std::int64_t c = 0; c < cols; ++c) values[r * cols + c] = normal(gen) * row_scale;
  }
  const QuantizedWeight q = quantize_e4m3_rows(matrix(rows, cols, values));
  for (std::int64_t r = 0; r < rows; ++r) {
    float amax = 0.0f;
    for (std::int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(values[r * cols + c]));
    const float scale = amax / 448.0f;
    ASSERT_EQ(q.scales.data<float>()[r], scale) << "row " << r;
    bool reaches_max = false;
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::uint8_t code = q.values.data<std::uint8_t>()[r * cols + c];
      ASSERT_EQ(code, search_e4m3(values[r * cols + c] / scale)) << "row " << r << " col " << c;
      ASSERT_LE(code & 0x7f, kMaxCode);
      reaches_max |= (code & 0x7f) == kMaxCode;
    }
    EXPECT_TRUE(reaches_max) << "row " << r;
  }
}

TEST(QuantizeE4m3Rows, Bf16InputQuantizesItsExactValues) {
  std::mt19937 gen(4);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  Tensor bf16 = Tensor::zeros({7, 33}, DType::BF16);
  for (std::int64_t i = 0; i < bf16.numel(); ++i) bf16.data<std::uint16_t>()[i] = f32_to_bf16(normal(gen));
  const QuantizedWeight a = quantize_e4m3_rows(bf16);
  const QuantizedWeight b = quantize_e4m3_rows(bf16.to_f32());
  EXPECT_EQ(std::memcmp(a.values.raw(), b.values.raw(), a.values.bytes()), 0);
  EXPECT_EQ(std::memcmp(a.scales.raw(), b.scales.raw(), a.scales.bytes()), 0);
}

TEST(QuantizeE4m3Rows, DequantizeMultipliesByTheRowScale) {
  const QuantizedWeight q = quantize_e4m3_rows(matrix(2, 3, {1.0f, -2.0f, 0.3f, 0.0f, 0.0f, 0.0f}));
  const Tensor w = dequantize_e4m3_rows(q.values, q.scales);
  ASSERT_EQ(w.dtype(), DType::F32);
  ASSERT_EQ(w.shape(), (Shape{2, 3}));
  for (std::int64_t i = 0; i < 6; ++i)
    EXPECT_EQ(w.data<float>()[i], e4m3_to_f32(q.values.data<std::uint8_t>()[i]) * q.scales.data<float>()[i / 3]);
}

TEST(QuantizeE4m3Rows, RejectsWhatIsNotAFloatMatrix) {
  EXPECT_THROW(quantize_e4m3_rows(Tensor::from_f32({4}, {1, 2, 3, 4})), InvalidArgument);
  EXPECT_THROW(quantize_e4m3_rows(Tensor::from_i32({2, 2}, {1, 2, 3, 4})), InvalidArgument);
  EXPECT_THROW(quantize_e4m3_rows(Tensor()), InvalidArgument);
  const QuantizedWeight q = quantize_e4m3_rows(matrix(2, 2, {1, 2, 3, 4}));
  EXPECT_THROW(dequantize_e4m3_rows(q.values, Tensor::from_f32({3}, {1, 1, 1})), InvalidArgument);
  EXPECT_THROW(dequantize_e4m3_rows(matrix(2, 2, {1, 2, 3, 4}), q.scales), InvalidArgument);
}

}  // namespace
}  // namespace hs
