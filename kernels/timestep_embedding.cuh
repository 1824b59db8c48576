// Sinusoidal timestep embedding: out[b, i] = cos(t[b]·scale·f_i), out[b, h + i] = sin(t[b]·scale·f_i),
// f_i = max_period^(−i/h), h = dim / 2; evaluated in double like the CPU reference (the argument
// reaches scale · t, where an fp32 sin would lose digits).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct TimestepEmbeddingParams {
  const float* t;  // [batch]
  void* out;       // [batch, dim], dim even
  std::int64_t batch, dim;
  float scale, max_period;
  ElementType type;  // of out
};

void timestep_embedding(const TimestepEmbeddingParams& p, cudaStream_t stream);

}  // namespace hs::kernels
