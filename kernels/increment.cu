#include "kernels/common.cuh"
#include "kernels/increment.cuh"

namespace hs::kernels {

static __global__ void increment_kernel(std::int32_t* counter, std::int32_t delta) {
  await_previous_kernel();
  counter[0] += delta;
}

void increment(std::int32_t* counter, std::int32_t delta, cudaStream_t stream) {
  launch(increment_kernel, 1, 1, stream, counter, delta);
}

}  // namespace hs::kernels
