// One Llama stack (backbone or depth decoder) run against a KV cache: per layer
// h = x + Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsnorm(x), then
// out = h + W2·(silu(W1·m) · W3·m) with m = rmsnorm(h); the stack ends with its final norm.
#pragma once

#include <vector>

#include "engine/core/backend.h"
#include "engine/model/lm/mula_weights.h"

namespace hs {

// Per-session buffers of one stack, allocated once: KV caches for `batch` rows × `capacity`
// positions and scratch for steps of up to `max_step` positions per row. The KV caches and the
// tensors only read by linears or attention (n, m, attn, the SwiGLU product) are `narrow`
// (Backend::narrow_dtype of the weights' precision); the residual stream, q/k/v, gate and up
// stay in the activation dtype.
class StackState {
 public:
  StackState(Backend& backend, const LlamaFlavor& flavor, std::int64_t batch, std::int64_t capacity,
             std::int64_t max_step, DType narrow);

  // Runs x [batch·S, dim] (batch-major rows; the residual stream, updated in place) through every
  // layer at positions I32 [S] (each < capacity) and writes the final norm into out [batch·S, dim].
  void forward(Backend& backend, const StackWeights& weights, Tensor& x, const Tensor& positions, Tensor& out);

 private:
  void layer(Backend& backend, const LayerWeights& w, const Tensor& inv_freq, std::size_t index, Tensor& x,
             const Tensor& positions, std::int64_t seq);

  std::int64_t batch_, max_step_;
  std::int64_t heads_, kv_heads_, head_dim_;
  std::vector<Tensor> k_cache_, v_cache_;  // per layer [batch, capacity, kv_heads, head_dim]
  Tensor norm_, q_, k_, v_, attn_, gate_, up_, ffn_;  // scratch, [batch·max_step, …]
};

}  // namespace hs
