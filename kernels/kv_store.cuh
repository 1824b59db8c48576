// KV-cache write: cache[b, positions[s]] = src[b, s] for cache [B, T, row] and src [B, S, row]
// (row = kv_heads · head_dim elements), converted to the cache's type while writing (an fp32
// k/v into a bf16 cache). Positions outside the cache are skipped (the CPU backend rejects them;
// device positions cannot be checked without a sync).
//
// An fp8 cache (scale set): each head_dim vector x is stored as e4m3(x / s) with its own scale
// s = max |x| / 448 (1 for an all-zero vector) in scale [B, T, kv_heads], bit for bit the CPU
// backend's rule (engine/cpu/cpu_attention.h store_kv). Paged (slots set, batch 1): token s goes
// to cache row slots[s], nowhere when negative.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct KvStoreParams {
  void* cache;                    // [batch, capacity, row], cache_type (E4M3 when scale is set)
  const void* src;                // [batch, seq, row], src_type
  const std::int32_t* positions;  // [seq], device
  std::int64_t batch, seq, capacity, row;
  ElementType src_type, cache_type;
  float* scale = nullptr;               // fp8: [batch, capacity, row / head_dim]
  std::int64_t head_dim = 0;            // fp8: the quantized vectors' length
  const std::int32_t* slots = nullptr;  // paged: [seq]
};

void kv_store(const KvStoreParams& p, cudaStream_t stream);

}  // namespace hs::kernels
