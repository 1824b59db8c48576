// Skinny GEMM for decode (M ≤ kGemvMaxRows rows): out[m, n] = (accumulate ? out[m, n] : 0) +
// (Σ_k x[m, k] · W[n, k]) · scale[n] + bias[n]. Each warp owns 2 or 4 output features
// and streams their weight rows with 16-byte loads, several vectors per row in flight, so the M
// rows share one read of the weights. Weights are fp32 (with fp32 x), bf16 or fp8 E4M3 with
// per-output-channel scales (with fp32 or bf16 x); fp32 accumulation; out is fp32 or the x type
// (an fp32 residual stream takes the projection with accumulate set); stacked projections may be
// split over several outputs. Memory-bound by design; fp8 weights run on tensor cores with x
// rounded to bf16 (gemv_mma.cuh). Gated:
// SwiGLU over a [W1; W3] stack, each warp owning features j… and F + j…, out[m, j] =
// silu(y[m, j]) · y[m, F + j] with F = out_features / 2 (one kernel for w1, w3 and the product).
// The RMSNorm before a projection stays a kernel of its own: folded in here (each block scaling
// its x values and summing their squares) the fp8 frame was 13 % slower (H100,
// benchmarks/results/lm_frame_experiments_h100.json).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

inline constexpr std::int64_t kGemvMaxRows = 4;
inline constexpr int kGemvMaxOutputs = 3;  // stacked projections split over outputs (q, k, v)

struct GemvParams {
  const void* x;        // [rows, in], activation type; in a multiple of 16 bytes of weights
  const void* weight;   // [out, in], weight type
  const float* scales;  // [out] for FP8 weights, else null
  const float* bias;    // [out] or null
  void* out[kGemvMaxOutputs];            // out[i] [rows, widths[i]], out_type: the features in order
  std::int64_t widths[kGemvMaxOutputs];  // Σ = out_features (out_features / 2 when gated); unused: 0
  std::int64_t rows, in, out_features;
  ElementType activation;
  WeightType weight_type;
  ElementType out_type;
  bool accumulate;      // add into out instead of overwriting it
  bool gated;           // SwiGLU epilogue (out_features even, no bias, no accumulate)
};

void gemv(const GemvParams& p, cudaStream_t stream);

}  // namespace hs::kernels
