// LayerNorm without affine over the last dimension: out = (x − mean) / sqrt(var + eps), fp32
// math (two passes over the row held in registers) on float or bf16 rows.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

// Widest row a block holds in registers (16 values per thread, 1024 threads).
inline constexpr std::int64_t kLayerNormMaxDim = 16384;

struct LayerNormParams {
  const void* x;  // [rows, dim]
  void* out;      // [rows, dim] (may alias x)
  std::int64_t rows, dim;
  float eps;
  ElementType type;
};

void layer_norm(const LayerNormParams& p, cudaStream_t stream);

}  // namespace hs::kernels
