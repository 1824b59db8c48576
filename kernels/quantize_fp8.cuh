// Per-row fp8 E4M3 quantization: scale[r] = max|x[r, :]| / 448 (1 for an all-zero row) and
// q[r, k] = e4m3(x[r, k] / scale[r]) (round to nearest even, saturating). The CUDA backend runs it
// on activation rows (per-token scales); weights are quantized on the host by the same rule
// (engine/core/fp8_quantize.h), and tests/gpu/quantize_fp8_test.cpp checks the two agree bit for bit.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct QuantizeFp8Params {
  const void* x;        // [rows, cols]
  void* q;              // [rows, cols] E4M3
  float* scales;        // [rows]
  std::int64_t rows, cols;
  ElementType type;     // of x
};

void quantize_fp8(const QuantizeFp8Params& p, cudaStream_t stream);

// out[i] = bf16(q[i]) for `count` E4M3 values: exact (every E4M3 value is a bf16 value). The
// portable GEMM path (GPUs without fp8 tensor cores) widens fp8 weights with it before a bf16 GEMM.
// With row_scales (F32 [count / cols]): out[i] = bf16(q[i] · row_scales[i / cols]), an fp8 GEMM
// input (per-row scales, as quantize_fp8 writes it) widened for a path that reads bf16.
void widen_fp8(const void* q, void* out, std::int64_t count, cudaStream_t stream, const float* row_scales = nullptr,
               std::int64_t cols = 0);

}  // namespace hs::kernels
