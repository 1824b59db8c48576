#include "engine/core/dtype.h"

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

namespace hs {
namespace {

TEST(DType, NamesRoundTripAndUnknownNamesAreRejected) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F8_E4M3, DType::I8, DType::U8, DType::I32,
                  DType::I64, DType::BOOL}) {
    auto parsed = dtype_from_name(dtype_name(d));
    ASSERT_TRUE(parsed.has_value()) << dtype_name(d);
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_FALSE(dtype_from_name("F64").has_value());
  EXPECT_FALSE(dtype_from_name("f32").has_value());
  EXPECT_FALSE(dtype_from_name("").has_value());
}

TEST(DType, Bf16RoundsToNearestEven) {
  // Every bf16 value survives the round trip.
  for (std::uint32_t bits = 0; bits < 0x10000; bits += 7) {
    const float v = bf16_to_f32(static_cast<std::uint16_t>(bits));
    if (std::isnan(v)) continue;
    EXPECT_EQ(f32_to_bf16(v), bits);
  }
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
}

TEST(DType, F16DecodesNormalsSubnormalsAndInfinity) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
}

TEST(DType, E4m3MatchesTheOcpFormat) {
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);                  // max finite
  EXPECT_EQ(e4m3_to_f32(0x01), std::ldexp(1.0f, -9));    // min subnormal
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7f)));
  EXPECT_EQ(f32_to_e4m3(1e6f), 0x7e);                    // saturates
  EXPECT_EQ(f32_to_e4m3(-1e6f), 0xfe);
  for (int code = 0; code < 0x7f; ++code)                // every finite code round-trips
    EXPECT_EQ(f32_to_e4m3(e4m3_to_f32(static_cast<std::uint8_t>(code))), code);
}

TEST(DType, ConvertToF32WidensEveryDtype) {
  const std::int64_t i64[] = {-3, 7};
  float out[2];
  convert_to_f32(DType::I64, i64, out, 2);
  EXPECT_EQ(out[0], -3.0f);
  EXPECT_EQ(out[1], 7.0f);
  const std::uint16_t bf[] = {0x3f80, 0xc040};
  convert_to_f32(DType::BF16, bf, out, 2);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
}

}  // namespace
}  // namespace hs
