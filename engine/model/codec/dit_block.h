// One transformer block of the codec's DiT (REFERENCE.md "The codec" 3): AdaLN-single modulated
// RMSNorm → self-attention with interleaved RoPE (no mask) → gated residual, then the same around a
// gated-SiLU MLP. Time-major activations [B, T, D].
#pragma once

#include <string>

#include "engine/core/backend.h"
#include "engine/model/codec/codec_weights.h"

namespace hs {

// The six per-batch modulation vectors of a block, in the checkpoint's order.
enum class Modulation : int { AttnShift, AttnScale, AttnGate, MlpShift, MlpScale, MlpGate };
inline constexpr std::int64_t kModulationCount = 6;

// Activations the blocks of a stack need, sized for (layers, batch, frames, width, MLP hidden
// size); shared by all blocks of the stack and reused across estimator calls.
struct DitScratch {
  DitScratch(Backend& backend, std::int64_t layers, std::int64_t batch, std::int64_t frames, std::int64_t dim,
             std::int64_t hidden, DType narrow, DType gemm_input);
  // The projections' inputs: the norm and SwiGLU outputs in `gemm_input` (Backend::gemm_input_dtype
  // of the weights; fp8 with the row scales norm_scale [B, T] and gate_scale [B·T]), the attention
  // inputs and output in `narrow` (Backend::narrow_dtype; the tensor-core attention rounds q, k
  // and v to bf16 anyway); the rest F32.
  Tensor norm, norm_scale;                         // [B, T, D]
  Tensor q, k, v, attn;                            // [B·T, D], narrow
  Tensor proj;                                     // [B·T, D]
  Tensor gate, gate_scale;                         // [B·T, hidden]: SwiGLU's output
  Tensor up;                                       // [B·T, hidden], narrow: the default linear_swiglu's scratch
  Tensor modulation;                               // [L, 6, B, D]: the stack's adaln + each block's table
  // The stack's timestep conditioning (DitStack::forward).
  Tensor hidden, emb;                              // [B, D]
  Tensor adaln;                                    // [B, 6·D]
  Tensor final_shift, final_scale;                 // [B, D]
};

// Positional inputs shared by the blocks of one stack.
struct RopeTables {
  Tensor positions;  // I32 [T]: 0 .. T-1
  Tensor inv_freq;   // F32 [head_dim / 2]: 10000^(-2j / head_dim)
};

class DitBlock {
 public:
  // MLP hidden size of a block of width `dim`: the multiple of 256 at or above 2/3 · 4 · dim.
  static std::int64_t mlp_hidden(std::int64_t dim);

  DitBlock(Backend& backend, const CodecWeightLoader& weights, const std::string& prefix, std::int64_t dim,
           std::int64_t heads);

  // The block's attention input s.norm = rmsnorm(h)·(1 + scale) + shift; modulation [6, B, D] is
  // this block's AdaLN vectors (the stack's adaln + its scale_shift_table, indexed by Modulation).
  void attention_norm(const Tensor& h, const Tensor& modulation, DitScratch& s) const;
  // h [B, T, D] ← block(h) in place, from s.norm = attention_norm(h, modulation); with `next`, the
  // last residual add also writes the next block's attention_norm(h, next_modulation) into s.norm.
  void forward(Tensor& h, const Tensor& modulation, const RopeTables& rope, DitScratch& s, const DitBlock* next,
               const Tensor& next_modulation) const;

 private:
  Backend* backend_;
  std::int64_t dim_;
  std::int64_t heads_;
  Tensor attn_norm_;
  Tensor mlp_norm_;
  Weight qkv_, o_;    // q, k, v stacked: one projection
  Weight gate_up_;    // gate, up stacked: SwiGLU's hidden layer in one projection
  Weight down_;
};

}  // namespace hs
