#include "engine/core/dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include "engine/core/error.h"

namespace hs {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeInfo, 9> kDTypes{{
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::I32, "I32", 4},
    {DType::I64, "I64", 8},
    {DType::BOOL, "BOOL", 1},
}};

const DTypeInfo& info(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)]; }

template <typename T>
void widen(const void* src, float* dst, std::size_t n) {
  const T* s = static_cast<const T*>(src);
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
}

}  // namespace

std::size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

std::uint16_t f32_to_bf16(float value) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<std::uint16_t>(u >> 16);
}

float f16_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = (bits & 0x8000u) << 16;
  const std::uint32_t exp = (bits >> 10) & 0x1f;
  const std::uint32_t man = bits & 0x3ff;
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    const float v = std::ldexp(static_cast<float>(man), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

float e4m3_to_f32(std::uint8_t bits) {
  const bool negative = bits & 0x80;
  const int exp = (bits >> 3) & 0xf;
  const int man = bits & 0x7;
  float v;
  if (exp == 0xf && man == 0x7) {
    v = std::nanf("");
  } else if (exp == 0) {
    v = std::ldexp(static_cast<float>(man), -9);  // subnormal: man/8 * 2^-6
  } else {
    v = std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
  }
  return negative ? -v : v;
}

void convert_to_f32(DType src_dtype, const void* src, float* dst, std::size_t n) {
  switch (src_dtype) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::BF16: {
      const auto* s = static_cast<const std::uint16_t*>(src);
      for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::F16: {
      const auto* s = static_cast<const std::uint16_t*>(src);
      for (std::size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::F8_E4M3: {
      const auto* s = static_cast<const std::uint8_t*>(src);
      for (std::size_t i = 0; i < n; ++i) dst[i] = e4m3_to_f32(s[i]);
      return;
    }
    case DType::I8: return widen<std::int8_t>(src, dst, n);
    case DType::U8:
    case DType::BOOL: return widen<std::uint8_t>(src, dst, n);
    case DType::I32: return widen<std::int32_t>(src, dst, n);
    case DType::I64: return widen<std::int64_t>(src, dst, n);
  }
  throw InvalidArgument("convert_to_f32: unknown dtype");
}

}  // namespace hs
