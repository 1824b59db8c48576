// Interleaved rotary embedding in place: pairs (2j, 2j+1) of each head of x [rows, heads, head_dim]
// rotated by positions[(first_row + r) % seq] · inv_freq[j] at row r (x [B, S, H, hd] is rows B·S,
// first_row 0; a later part of it starts at its first row). inv_freq holds the Llama-3 scaled
// frequencies, computed by the caller. The angle, its cosine and sine are computed in double, as
// the CPU reference does.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct RopeParams {
  void* x;                        // [rows, heads, head_dim]
  const std::int32_t* positions;  // [seq], device
  const float* inv_freq;          // [head_dim / 2], device
  std::int64_t rows, seq, heads, head_dim;
  std::int64_t first_row;         // x's first row in the sequence's rows
  ElementType type;
};

void rope(const RopeParams& p, cudaStream_t stream);

}  // namespace hs::kernels
