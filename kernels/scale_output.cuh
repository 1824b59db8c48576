// GEMM epilogue applied after cuBLASLt: out[m, n] = out[m, n] · row_scale[m] · col_scale[n] +
// bias[n], in place; each of the three may be null (dequantizing fp8 with per-token and
// per-output-channel scales, adding a linear layer's bias).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct ScaleOutputParams {
  void* out;               // [rows, cols]
  const float* row_scale;  // [rows] or null
  const float* col_scale;  // [cols] or null
  const float* bias;       // [cols] or null
  std::int64_t rows, cols;
  ElementType type;
};

void scale_output(const ScaleOutputParams& p, cudaStream_t stream);

}  // namespace hs::kernels
