// KV-cache write: cache[b, positions[s]] = src[b, s] for cache [B, T, row] and src [B, S, row]
// (row = kv_heads · head_dim elements), converted to the cache's type while writing (an fp32
// k/v into a bf16 cache). Positions outside the cache are skipped (the CPU backend rejects them;
// device positions cannot be checked without a sync).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct KvStoreParams {
  void* cache;                    // [batch, capacity, row], cache_type
  const void* src;                // [batch, seq, row], src_type
  const std::int32_t* positions;  // [seq], device
  std::int64_t batch, seq, capacity, row;
  ElementType src_type, cache_type;
};

void kv_store(const KvStoreParams& p, cudaStream_t stream);

}  // namespace hs::kernels
