// Grouped-query attention over a KV cache, flash-decoding style: each (batch, query, head) row is
// split over `splits` chunks of the visible keys (computed on the device from positions, so a
// captured graph stays valid as the sequence grows); a second pass merges the chunks' partial
// softmax sums. Serves the backbone's decode (1 query, thousands of keys), prefill (one row per
// prompt position, causal) and the depth decoder (≤ 9 keys, head_dim 384). fp32 math; q, the
// K/V cache and out each fp32 or bf16 (fp32 q against a bf16 cache, say), or an fp8 E4M3 cache
// with a scale per (key, kv head) (kernels/kv_store.cuh).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

inline constexpr std::int64_t kAttentionMaxHeadDim = 384;

struct AttentionParams {
  const void* q;  // [batch, seq, heads, head_dim]
  const void* k;  // [batch, keys, kv_heads, head_dim]
  const void* v;  // [batch, keys, kv_heads, head_dim]
  void* out;      // [batch, seq, heads, head_dim]
  const std::int32_t* positions;  // [seq]: query s sees keys 0..positions[s]; null: all keys
  float* workspace;               // attention_workspace_floats(*this) floats (null when that is 0)
  std::int64_t batch, seq, heads, kv_heads, head_dim, keys;
  ElementType q_type, kv_type, out_type;  // q; k and v (the cache); out
  // An fp8 cache (kv_type ignored): k and v are E4M3, key t of kv head h reads as e4m3 · k_scale[t ·
  // kv_heads + h] (t counts the cache's rows: b · keys + key, or the pool row when paged).
  const float* k_scale = nullptr;
  const float* v_scale = nullptr;
  // Paged (batch 1, positions required): k and v are pools [blocks · block_size, kv_heads,
  // head_dim]; query s reads KV row kv_rows[s] (none when negative: zeros) whose key t is pool row
  // block_tables[kv_rows[s] · table_width + t / block_size] · block_size + t % block_size. Splits
  // then hold kPagedKeysPerSplit keys each, so a query's result does not depend on the others.
  const std::int32_t* block_tables = nullptr;
  const std::int32_t* kv_rows = nullptr;
  std::int64_t block_size = 0, table_width = 0;
};

inline constexpr std::int64_t kPagedKeysPerSplit = 512;

// fp32 scratch the split-KV pass needs for these sizes (0 when every row fits one split).
std::int64_t attention_workspace_floats(const AttentionParams& p);

void attention(const AttentionParams& p, cudaStream_t stream);

}  // namespace hs::kernels
