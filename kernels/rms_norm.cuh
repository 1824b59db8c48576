// RMSNorm over the last dimension: out = x / sqrt(mean(x²) + eps) · scale, fp32 math.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct RmsNormParams {
  const void* x;      // [rows, dim]
  const void* scale;  // [dim]
  void* out;          // [rows, dim] (may alias x)
  std::int64_t rows, dim;
  float eps;
  ElementType type;   // of x, scale and out
};

void rms_norm(const RmsNormParams& p, cudaStream_t stream);

}  // namespace hs::kernels
