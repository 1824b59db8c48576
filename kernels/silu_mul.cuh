// SwiGLU's product: out = silu(gate) · up, elementwise in fp32; out may be narrower than gate/up.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct SiluMulParams {
  const void* gate;
  const void* up;
  void* out;  // out_type; may alias gate or up when of their type
  std::int64_t n;
  ElementType type;  // of gate and up
  ElementType out_type;
};

void silu_mul(const SiluMulParams& p, cudaStream_t stream);

}  // namespace hs::kernels
