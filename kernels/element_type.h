// Element types kernels compute on, named without engine types (the backend maps DType to these).
#pragma once

#include <cstdint>

namespace hs::kernels {

// Activations, norms' scales and embedding tables: fp32 (reference precision) or bf16.
enum class ElementType : std::uint8_t { F32, BF16 };
// Linear-layer weights: the activation types or fp8 E4M3 with per-output-channel scales.
enum class WeightType : std::uint8_t { F32, BF16, FP8 };

}  // namespace hs::kernels
