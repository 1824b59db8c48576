// Kernel launches that overlap: programmatic dependent launch (compute capability 9.0 on). A
// kernel launched by launch() may be scheduled while the kernel before it in the stream still
// runs; every kernel calls await_previous_kernel() before it touches memory the previous one
// writes or reads, which waits until that kernel has finished and its writes are visible, and
// lets the next kernel be scheduled from then on: the next kernel's launch and block scheduling
// overlap this one's end. The GEMVs' weights could be read before the wait (no kernel writes them),
// but an L2 prefetch of each lane's first vectors there made them slower, not faster (H200,
// benchmarks/results/overlapped_launches_h200.json), and so did loading the first vectors into
// registers there (H100: fp8 frame 2 %, int4 9 % slower; lm_frame_experiments_h100.json).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "kernels/cuda_check.h"

namespace hs::kernels {

__device__ __forceinline__ void await_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}

// Whether `kernel` may be launched overlapped on the current device: overlapped launches enabled,
// compute capability 9.0 or newer and the kernel's code built from PTX 9.0 or newer (PTX for older
// targets, JIT-compiled, has no wait in it). Cached per kernel and device.
bool overlapped_launch(const void* kernel);
// Turns overlapped launches on or off for the launches that follow (graphs captured before keep
// theirs). On unless HEARTSTREAM_CUDA_PDL=0 is in the environment.
void set_overlapped_launches(bool enabled);

// launch_shared(kernel, grid, block, shared_bytes, stream, args...): with `shared_bytes` of dynamic
// shared memory (the kernel's limit raised to it first when past the default 48 KB), overlapped
// where overlapped_launch allows it.
template <typename... Params, typename... Args>
void launch_shared(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
  constexpr std::size_t kDefaultSharedLimit = 48 * 1024;
  if (shared_bytes > kDefaultSharedLimit)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared_bytes)));
  cudaLaunchAttribute overlap{};
  overlap.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  overlap.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  if (overlapped_launch(reinterpret_cast<const void*>(kernel))) {
    config.attrs = &overlap;
    config.numAttrs = 1;
  }
  CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

// launch(kernel, grid, block, stream, args...): launch_shared without dynamic shared memory.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, Args&&... args) {
  launch_shared(kernel, grid, block, 0, stream, std::forward<Args>(args)...);
}

}  // namespace hs::kernels
