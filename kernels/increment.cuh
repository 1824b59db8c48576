// counter[0] += delta on the device (a frame position advanced inside a replayed graph).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hs::kernels {

void increment(std::int32_t* counter, std::int32_t delta, cudaStream_t stream);

}  // namespace hs::kernels
