// RMSNorm over the last dimension: out = x / sqrt(mean(x²) + eps) · scale, fp32 math; out may be
// narrower than x (an fp32 residual stream normalised straight into a bf16 GEMV input). With
// modulation (the codec's AdaLN), then out = n · (1 + mod_scale[b]) + shift[b], b = row / batch_rows.
// With out_scales, out is an fp8 GEMM input: each row of fp32 results quantized by quantize_fp8's
// rule (so the same bytes and scales as an fp32 out followed by quantize_fp8, in one pass).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

// A gated residual update applied to x (F32) before it is normalised, as kernels::scale_output's
// gated accumulate computes it: x[r, :] += gate[b] · (src[r, :] · row_scale[r] · col_scale + bias),
// b = r / batch_rows (the DiT's projection epilogue followed by the next norm, in one pass). The
// vectors are read 4 values at a time: col_scale, bias and gate 16-byte aligned.
struct ResidualUpdate {
  const void* src = nullptr;         // [rows, dim] bf16: a GEMM's output; null: no update
  const float* row_scale = nullptr;  // [rows] or null
  const float* col_scale = nullptr;  // [dim] or null
  const float* bias = nullptr;       // [dim] or null
  const float* gate = nullptr;       // [rows / batch_rows, dim]
};

struct RmsNormParams {
  void* x;            // [rows, dim] (written only by a residual update)
  const void* scale;  // [dim]
  void* out;          // [rows, dim], out_type (may alias x when of its type)
  std::int64_t rows, dim;
  float eps;
  ElementType type;   // of x and scale
  ElementType out_type;
  const float* shift = nullptr;      // [rows / batch_rows, dim] fp32, or null: no modulation
  const float* mod_scale = nullptr;  // [rows / batch_rows, dim] fp32 (with shift)
  std::int64_t batch_rows = 1;
  float* out_scales = nullptr;       // [rows]: out is E4M3 with these row scales (out_type unused)
  ResidualUpdate update = {};        // with src: x (F32, then not aliased by out) updated first
};

void rms_norm(const RmsNormParams& p, cudaStream_t stream);

}  // namespace hs::kernels
