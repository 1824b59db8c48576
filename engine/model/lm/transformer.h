// One Llama stack (backbone or depth decoder) run against a KV cache: per layer
// h = x + Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsnorm(x), then
// out = h + W2·(silu(W1·m) · W3·m) with m = rmsnorm(h); the stack ends with its final norm.
// The cache is dense per row (StackState: one song) or paged (KvPool: many songs per step).
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "engine/core/backend.h"
#include "engine/model/lm/mula_weights.h"

namespace hs {

// How a stack stores its keys and values: Auto in the narrow dtype (bf16 on CUDA at bf16 and fp8,
// fp32 otherwise), Fp8 as E4M3 with a scale per (position, kv head) (Backend's ScaledTensor): half of
// bf16's bytes, for ~3 % more bytes of scales.
enum class KvCache : std::uint8_t { Auto, Fp8 };
std::string_view kv_cache_name(KvCache kv);  // "auto" | "fp8"
// Parses "auto" | "fp8"; InvalidArgument naming `what` (the flag or key) otherwise.
KvCache parse_kv_cache(std::string_view text, std::string_view what);
// The cache's element dtype for weights stored in `narrow` (Backend::narrow_dtype).
DType kv_cache_dtype(KvCache kv, DType narrow);
// Keys or values for `shape` = [.., kv_heads, head_dim] in `dtype` (F8_E4M3: with their scales).
ScaledTensor alloc_kv(Backend& backend, const Shape& shape, DType dtype);

// A layer's temporaries for up to `rows` token rows. The tensors only read by linears or attention
// (norm, attn, the SwiGLU product) are `narrow` (Backend::narrow_dtype of the weights' precision);
// q/k/v, gate and up stay in the activation dtype.
struct StackScratch {
  StackScratch(Backend& backend, const LlamaFlavor& flavor, std::int64_t rows, DType narrow);
  std::int64_t rows;
  Tensor norm, q, k, v, attn, gate, up, ffn;
};

// Per-session buffers of one stack, allocated once: KV caches for `batch` rows × `capacity`
// positions (in `kv`, kv_cache_dtype) and scratch for steps of up to `max_step` positions per row.
class StackState {
 public:
  StackState(Backend& backend, const LlamaFlavor& flavor, std::int64_t batch, std::int64_t capacity,
             std::int64_t max_step, DType narrow, DType kv);

  // Runs x [b·S, dim] (batch-major rows, b ≤ batch: the first b rows of the caches; the residual
  // stream, updated in place) through every layer at positions I32 [S] (each < capacity) and
  // writes the final norm into out [b·S, dim].
  void forward(Backend& backend, const StackWeights& weights, Tensor& x, const Tensor& positions, Tensor& out);

 private:
  std::int64_t batch_, max_step_;
  std::vector<ScaledTensor> k_cache_, v_cache_;  // per layer [batch, capacity, kv_heads, head_dim]
  StackScratch scratch_;                   // [batch·max_step, …]
};

// A stack's keys and values in blocks shared by many rows (Backend::paged_attention): per layer
// pools [blocks, block_size, kv_heads, head_dim] in `kv` (kv_cache_dtype).
struct KvPool {
  KvPool(Backend& backend, const LlamaFlavor& flavor, std::int64_t blocks, std::int64_t block_size, DType kv);
  std::int64_t blocks, block_size;
  std::vector<ScaledTensor> k, v;
};

// Where the N tokens of a paged forward sit (device I32 tensors, Backend::rope_store_paged and
// paged_attention): positions [N], pool slots [N], KV rows [N] and the rows' block tables.
struct PagedTokens {
  const Tensor& positions;
  const Tensor& slots;
  const Tensor& kv_rows;
  const Tensor& block_tables;
};

// StackState::forward over a KvPool: x [N, dim] (N ≤ scratch.rows), each token at its own row
// and position; out [N, dim].
void paged_forward(Backend& backend, const StackWeights& weights, KvPool& pool, StackScratch& scratch, Tensor& x,
                   const PagedTokens& tokens, Tensor& out);

}  // namespace hs
