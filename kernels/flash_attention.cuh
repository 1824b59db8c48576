// Non-causal attention on bf16 tensor cores, FlashAttention-2 forward: the codec DiT's
// self-attention over a window (batch 2 for guidance, 24 heads of 64 or 128, up to ~750 frames).
// q, k and v are rounded to bf16 as they are staged; scores, softmax and the output accumulate in
// fp32, and the softmax weights P are rounded to bf16 for P·V. q, k, v and out each fp32 or bf16.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

// The head sizes the kernel is instantiated for (the DiT's two stacks).
inline constexpr bool flash_attention_supports(std::int64_t head_dim) { return head_dim == 64 || head_dim == 128; }

struct FlashAttentionParams {
  const void* q;  // [batch, seq, heads, head_dim]
  const void* k;  // [batch, keys, heads, head_dim]
  const void* v;  // [batch, keys, heads, head_dim]
  void* out;      // [batch, seq, heads, head_dim]
  std::int64_t batch, seq, heads, head_dim, keys;  // every query sees all keys; scale 1/sqrt(head_dim)
  ElementType q_type, kv_type, out_type;            // q; k and v; out
};

// Throws CudaError unless flash_attention_supports(head_dim), keys > 0 and the pointers are
// 16-byte aligned.
void flash_attention(const FlashAttentionParams& p, cudaStream_t stream);

}  // namespace hs::kernels
