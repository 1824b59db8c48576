// 4-bit weights (--precision nf4 | int4; experimental): each block of kQ4Block consecutive values of
// a row keeps one fp32 scale, its max |w| (1 for an all-zero block), and every value the index of
// the nearest entry of a 16-value table over [-1, 1] (ties to the lower index):
//   NF4  bitsandbytes' NormalFloat4 table (quantiles of a normal distribution, exact zero), each
//        value rounded to bf16 (changes of at most 0.2 %), so the CUDA GEMV's bf16 math is exact
//   INT4 symmetric integers (c - 8) / 7, so -7..7 are used (index 0 never is)
// w ≈ table[code] · scale. Two codes per byte, the even column in the low nibble. The CUDA backend
// reads them in its GEMV and widens them to bf16 for prefill GEMMs; the CPU backend holds the
// dequantized fp32 values. docs/fp8.md "4-bit weights" has the quality against fp8.
#pragma once

#include <array>
#include <cstdint>

#include "engine/core/tensor.h"

namespace hs {

inline constexpr std::int64_t kQ4Block = 64;  // values per scale, along a row

enum class Q4Format : std::uint8_t { NF4, INT4 };

// table[c] = levels[c] · unit: NF4's levels are the table (unit 1), INT4's the integers c - 8
// (unit 1 / 7), which the CUDA GEMV decodes without a lookup.
struct Q4Levels {
  std::array<float, 16> levels;
  float unit;
};
const Q4Levels& q4_levels(Q4Format format);
const std::array<float, 16>& q4_table(Q4Format format);

struct Q4Weight {
  Tensor codes;   // U8 [out, in / 2]
  Tensor scales;  // F32 [out, in / kQ4Block]
};

// Quantizes a host [out, in] weight of any float dtype (in a multiple of kQ4Block), rows in
// parallel; InvalidArgument otherwise.
Q4Weight quantize_q4(const Tensor& weight, Q4Format format);

// The fp32 [out, in] weight a 4-bit one stands for.
Tensor dequantize_q4(const Q4Weight& q, Q4Format format);

}  // namespace hs
