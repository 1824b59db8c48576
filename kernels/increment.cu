#include "kernels/common.cuh"
#include "kernels/increment.cuh"

namespace hs::kernels {

static __global__ void increment_kernel(std::int32_t* counter, std::int32_t delta) { counter[0] += delta; }

void increment(std::int32_t* counter, std::int32_t delta, cudaStream_t stream) {
  increment_kernel<<<1, 1, 0, stream>>>(counter, delta);
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
