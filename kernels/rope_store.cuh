// Rotary embedding and KV-cache write in one launch (the decode step's four small kernels — rope
// q, rope k, store k, store v — were ~12% of an H200 frame, 2026-11-25): q [B, S, Hq, hd] is
// rotated in place, k [B, S, Hk, hd] is rotated in place and written to k_cache [B, T, Hk, hd] at
// positions[s], v is written to v_cache. Rotation as rope.cuh (interleaved pairs, angle in
// double), the cache write as kv_store.cuh (converted to the cache's type, positions outside the
// cache skipped). With null caches only the rotation runs (an fp8 cache is written by kv_store;
// folding those two stores in here changed nothing measurable, lm_frame_experiments_h100.json).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct RopeStoreParams {
  void* q;                        // [batch, seq, q_heads, head_dim], type
  void* k;                        // [batch, seq, kv_heads, head_dim], type
  const void* v;                  // [batch, seq, kv_heads, head_dim], type
  void* k_cache;                  // [batch, capacity, kv_heads, head_dim], cache_type; or null
  void* v_cache;                  // [batch, capacity, kv_heads, head_dim], cache_type
  const std::int32_t* positions;  // [seq], device
  const float* inv_freq;          // [head_dim / 2], device
  std::int64_t batch, seq, q_heads, kv_heads, head_dim, capacity;
  ElementType type, cache_type;
  // Paged (batch 1): token s goes to cache row slots[s] of the pools k_cache / v_cache (capacity
  // = their rows), nowhere when negative; null: the dense cache above.
  const std::int32_t* slots = nullptr;
};

void rope_store(const RopeStoreParams& p, cudaStream_t stream);

}  // namespace hs::kernels
