// Element types of tensors as stored in checkpoints and used for compute.
#pragma once

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

// Scalar conversions (round-to-nearest-even where narrowing).
float bf16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_bf16(float value);
float f16_to_f32(std::uint16_t bits);
// OCP FP8 E4M3 (no infinities, 0x7f/0xff are NaN, max finite 448); narrowing saturates.
float e4m3_to_f32(std::uint8_t bits);
std::uint8_t f32_to_e4m3(float value);

// Converts n elements of any float or integer dtype to fp32.
void convert_to_f32(DType src_dtype, const void* src, float* dst, std::size_t n);

}  // namespace hs
