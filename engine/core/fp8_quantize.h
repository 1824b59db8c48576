// Per-output-channel FP8 E4M3 weight quantization: the one rule every fp8 weight in heartstream
// follows (CudaBackend's fp8 GEMMs, the CPU backend's fp8 simulation, the fp8 weight cache):
//   scale[r] = max_c |w[r, c]| / 448   (1 for an all-zero row)
//   q[r, c]  = e4m3(w[r, c] / scale[r]) (fp32 division, round to nearest even, saturating)
// bit for bit what kernels/quantize_fp8.cu computes on the GPU from the same fp32 values
// (tests/gpu/linear_test.cpp checks the two agree). The weight is quantized from its stored values
// (bf16 / f16 / f32, widened exactly to fp32); a dequantized weight is q · scale.
#pragma once

#include "engine/core/tensor.h"

namespace hs {

// Largest finite E4M3 magnitude; per-row scales map each row's max |w| onto it.
inline constexpr float kE4m3MaxFinite = 448.0f;

struct QuantizedWeight {
  Tensor values;  // F8_E4M3 [out, in]
  Tensor scales;  // F32 [out]
};

// Quantizes a host [out, in] weight of any float dtype, rows in parallel (engine/core/parallel.h).
// InvalidArgument for a non-host, non-float or non-matrix tensor.
QuantizedWeight quantize_e4m3_rows(const Tensor& weight);

// The fp32 weight [out, in] a quantized one stands for: e4m3_to_f32(values[r, c]) · scales[r].
// InvalidArgument unless values is a host F8_E4M3 [out, in] and scales a host F32 [out].
Tensor dequantize_e4m3_rows(const Tensor& values, const Tensor& scales);

}  // namespace hs
