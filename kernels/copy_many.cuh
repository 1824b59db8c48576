// Many device-to-device copies in one launch (Backend::copy_many): one row of blocks per copy.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hs::kernels {

struct CopyEntry {
  const void* src;
  void* dst;
  std::uint64_t bytes;
};

// Runs the `count` copies listed in `entries` (device memory); `largest` is the longest one's bytes.
void copy_many(const CopyEntry* entries, int count, std::uint64_t largest, cudaStream_t stream);

}  // namespace hs::kernels
