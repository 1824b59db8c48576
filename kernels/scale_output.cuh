// GEMM epilogue applied after cuBLASLt: out[m, n] = (accumulate ? out[m, n] : 0) + g · (src[m, n] ·
// row_scale[m] · col_scale[n] + bias[n]), g = gate[(first_row + m) / gate_rows, n] or 1 without a gate (the DiT's
// gated residual); each of the four may be null (dequantizing fp8 with
// per-token and per-output-channel scales, adding a linear layer's bias, widening a bf16 GEMM
// result into an fp32 tensor or residual stream). src may alias out when their types agree.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct ScaleOutputParams {
  const void* src;         // [rows, cols], src_type
  void* out;               // [rows, cols], out_type
  const float* row_scale;  // [rows] or null
  const float* col_scale;  // [cols] or null
  const float* bias;       // [cols] or null
  std::int64_t rows, cols;
  ElementType src_type, out_type;
  bool accumulate;
  const float* gate = nullptr;  // [(first_row + rows) / gate_rows, cols] or null
  std::int64_t gate_rows = 1;
  std::int64_t first_row = 0;   // src's first row in the gate's rows (a pass over part of a GEMM)
  std::int64_t src_stride = 0;  // elements between src rows (0: cols)
};

void scale_output(const ScaleOutputParams& p, cudaStream_t stream);

// The same epilogue for a GEMM over weights stacked by rows, written as its parts: out[i] [rows,
// widths[i]] takes the next widths[i] columns of the scaled src (q, k, v of one GEMM), or, gated,
// out[0] [rows, cols / 2] = silu(v[:, :cols/2]) · v[:, cols/2:] (SwiGLU's hidden layer). The first
// rope.parts outputs may be rotated on the way, as kernels::rope rotates [rows, heads, head_dim]
// (q and k before attention), before they are rounded to out_type.
inline constexpr int kSplitMaxParts = 3;
struct SplitRope {
  int parts = 0;  // outputs rotated: 0 for none
  const std::int32_t* positions = nullptr;
  const float* inv_freq = nullptr;
  std::int64_t seq = 1, head_dim = 2, first_row = 0;  // as RopeParams
};
struct SplitOutputParams {
  const void* src;         // [rows, cols], src_type
  const float* row_scale;  // [rows] or null
  const float* col_scale;  // [cols] or null
  const float* bias;       // [cols] or null
  void* out[kSplitMaxParts];
  std::int64_t widths[kSplitMaxParts];  // Σ = cols, unused parts 0; gated: widths[0] = cols / 2
  std::int64_t rows, cols;
  ElementType src_type, out_type;
  bool gated;
  SplitRope rope = {};
  // Gated only: out[0] is an fp8 GEMM input, E4M3 rows with these scales [rows] (quantize_fp8's
  // rule on the fp32 products, in the same pass; out_type unused). Widths up to 16384, multiples of 4.
  float* out_scales = nullptr;
};

void split_output(const SplitOutputParams& p, cudaStream_t stream);

}  // namespace hs::kernels
