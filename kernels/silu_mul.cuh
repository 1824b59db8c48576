// SwiGLU's product: out = silu(gate) · up, elementwise in fp32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct SiluMulParams {
  const void* gate;
  const void* up;
  void* out;  // may alias gate or up
  std::int64_t n;
  ElementType type;
};

void silu_mul(const SiluMulParams& p, cudaStream_t stream);

}  // namespace hs::kernels
