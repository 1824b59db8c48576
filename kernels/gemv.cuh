// Skinny GEMM for decode (M ≤ kGemvMaxRows rows): out[m, n] = (Σ_k x[m, k] · W[n, k]) · scale[n]
// + bias[n], one warp per output feature streaming its weight row with 16-byte loads. Weights
// are fp32 (with fp32 x), bf16 or fp8 E4M3 with per-output-channel scales (with bf16 x); fp32
// accumulation. Memory-bound by design: at M = 2 it reads each weight byte once.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

inline constexpr std::int64_t kGemvMaxRows = 4;

struct GemvParams {
  const void* x;        // [rows, in], activation type
  const void* weight;   // [out, in], weight type; in·sizeof(weight) a multiple of 16 bytes
  const float* scales;  // [out] for FP8 weights, else null
  const float* bias;    // [out] or null
  void* out;            // [rows, out], activation type
  std::int64_t rows, in, out_features;
  ElementType activation;
  WeightType weight_type;
};

void gemv(const GemvParams& p, cudaStream_t stream);

}  // namespace hs::kernels
