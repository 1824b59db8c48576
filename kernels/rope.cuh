// Interleaved rotary embedding in place: pairs (2j, 2j+1) of x [B, S, H, hd] at token s rotated by
// positions[s] · inv_freq[j] (the Llama-3 scaled frequencies, computed by the caller). The angle,
// its cosine and sine are computed in double, as the CPU reference does.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct RopeParams {
  void* x;                   // [batch, seq, heads, head_dim]
  const std::int32_t* positions;  // [seq], device
  const float* inv_freq;     // [head_dim / 2], device
  std::int64_t batch, seq, heads, head_dim;
  ElementType type;
};

void rope(const RopeParams& p, cudaStream_t stream);

}  // namespace hs::kernels
