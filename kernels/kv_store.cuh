// KV-cache write: cache[b, positions[s]] = src[b, s] for cache [B, T, row] and src [B, S, row]
// (row = kv_heads · head_dim elements, copied as 16-bit words). Positions outside the cache are
// skipped (the CPU backend rejects them; device positions cannot be checked without a sync).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hs::kernels {

struct KvStoreParams {
  void* cache;                    // [batch, capacity, row_bytes]
  const void* src;                // [batch, seq, row_bytes]
  const std::int32_t* positions;  // [seq], device
  std::int64_t batch, seq, capacity, row_bytes;
};

void kv_store(const KvStoreParams& p, cudaStream_t stream);

}  // namespace hs::kernels
