// Element types of tensors as stored in checkpoints and used for compute.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hs {

enum class DType : std::uint8_t { F32, F16, BF16, F8_E4M3, I8, U8, I32, I64, BOOL };

// Size of one element in bytes.
std::size_t dtype_size(DType dtype);
// The safetensors spelling ("F32", "BF16", "F8_E4M3", ...).
std::string_view dtype_name(DType dtype);
// Parses a safetensors dtype name; nullopt for anything outside the closed list above.
std::optional<DType> dtype_from_name(std::string_view name);

// True for the floating-point dtypes (F32, F16, BF16, F8_E4M3).
inline bool is_float(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F8_E4M3;
}

// Scalar conversions (round-to-nearest-even where narrowing).
inline float bf16_to_f32(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t{bits} << 16); }
std::uint16_t f32_to_bf16(float value);
float f16_to_f32(std::uint16_t bits);
// OCP FP8 E4M3 widening (0x7f/0xff are NaN); f32_to_e4m3 below narrows.
float e4m3_to_f32(std::uint8_t bits);

// OCP FP8 E4M3 narrowing (no infinities, max finite 448), inline for the weight quantizer's inner
// loop. Bit for bit CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3) (cuda_fp8.hpp; its
// device path is cvt.rn.satfinite.e4m3x2.f32), without branches on the value: normals round to
// nearest even on the 20 dropped mantissa bits (a carry moves to the next binade); below 2^-6 the
// codes are the multiples of 2^-9, rounded to nearest even by the FPU; |x| > 464 (448 + half an
// ulp) saturates to ±448; NaN becomes the canonical 0x7f.
inline std::uint8_t f32_to_e4m3(float value) {
  constexpr std::uint32_t kMagnitude = 0x7fffffffu;
  constexpr std::uint32_t kInfBits = 0x7f800000u;
  constexpr std::uint32_t kMinNormalBits = 0x3c800000u;  // 2^-6
  constexpr std::uint32_t kOverflowBits = 0x43e80000u;   // 464
  constexpr std::uint32_t kMaxFiniteCode = 0x7e;         // 448
  constexpr std::uint32_t kNanCode = 0x7f;
  constexpr int kDroppedBits = 23 - 3;                   // f32 mantissa bits not kept by E4M3
  constexpr std::uint32_t kRebias = (127 - 7) << 3;      // f32 exponent bias − E4M3's, in code units
  constexpr float kSubnormalsPerUnit = 512.0f;           // 2^9: the subnormal spacing is 2^-9
  constexpr float kRoundToInteger = 8388608.0f;          // 2^23: adding it rounds [0, 2^22) to integers
  constexpr std::uint32_t kRoundToIntegerBits = 0x4b000000u;

  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t magnitude = bits & kMagnitude;
  const std::uint32_t normal =
      ((magnitude + ((1u << (kDroppedBits - 1)) - 1) + ((magnitude >> kDroppedBits) & 1)) >> kDroppedBits) - kRebias;
  const float scaled = std::bit_cast<float>(magnitude) * kSubnormalsPerUnit + kRoundToInteger;
  const std::uint32_t subnormal = std::bit_cast<std::uint32_t>(scaled) - kRoundToIntegerBits;
  std::uint32_t code = magnitude < kMinNormalBits ? subnormal : normal;
  code = magnitude > kOverflowBits ? kMaxFiniteCode : code;
  code |= (bits >> 24) & 0x80;
  return static_cast<std::uint8_t>(magnitude > kInfBits ? kNanCode : code);
}

// Converts n elements of any float or integer dtype to fp32.
void convert_to_f32(DType src_dtype, const void* src, float* dst, std::size_t n);

}  // namespace hs
