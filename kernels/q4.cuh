// 4-bit weights (engine/core/q4_quantize.h): codes U8 [out, in / 2] (two per byte, the even column
// in the low nibble), fp32 scales [out, in / 64] per block of 64 values, w = values[code] · unit ·
// scale. gemv_q4: the decode GEMV (≤ kGemvMaxRows rows) on tensor cores (gemv_mma_kernel.cuh):
// codes become bf16 without a memory lookup, by byte permutes from a 16-entry table held in
// registers, or for the integers -8..7 by placing the code in a bf16's mantissa; the block scales
// apply per 64 values. The same outputs as gemv (split, gated, accumulate, bias; p.scales must be
// null). widen_q4: the codes as a bf16 [stored_rows, in] matrix for a prefill GEMM, the rows past
// out_features zero.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/gemv.cuh"

namespace hs::kernels {

inline constexpr std::int64_t kQ4BlockValues = 64;

// values: exact in bf16 (the GEMV computes in bf16), or the integers -8..7 (the faster decode).
struct Q4Table {
  float values[16];
  float unit = 1.0f;
};

void gemv_q4(const GemvParams& p, const float* block_scales, const Q4Table& table, cudaStream_t stream);

struct WidenQ4Params {
  const void* codes;          // U8 [out_features, in / 2]
  const float* block_scales;  // [out_features, in / 64]
  void* out;                  // bf16 [stored_rows, in]
  std::int64_t out_features, stored_rows, in;
};

void widen_q4(const WidenQ4Params& p, const Q4Table& table, cudaStream_t stream);

}  // namespace hs::kernels
