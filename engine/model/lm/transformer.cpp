#include "engine/model/lm/transformer.h"

#include "engine/core/error.h"

namespace hs {

StackState::StackState(Backend& backend, const LlamaFlavor& f, std::int64_t batch, std::int64_t capacity,
                       std::int64_t max_step, DType narrow)
    : batch_(batch), max_step_(max_step), heads_(f.heads), kv_heads_(f.kv_heads),
      head_dim_(f.head_dim()) {
  HS_CHECK(batch >= 1 && capacity >= 1 && max_step >= 1, "StackState needs positive sizes");
  for (std::int64_t i = 0; i < f.layers; ++i) {
    k_cache_.push_back(backend.alloc({batch, capacity, kv_heads_, head_dim_}, narrow));
    v_cache_.push_back(backend.alloc({batch, capacity, kv_heads_, head_dim_}, narrow));
  }
  const std::int64_t rows = batch * max_step;
  const DType act = backend.activation_dtype();
  norm_ = backend.alloc({rows, f.dim}, narrow);
  q_ = backend.alloc({rows, heads_ * head_dim_}, act);
  k_ = backend.alloc({rows, kv_heads_ * head_dim_}, act);
  v_ = backend.alloc({rows, kv_heads_ * head_dim_}, act);
  attn_ = backend.alloc({rows, heads_ * head_dim_}, narrow);
  gate_ = backend.alloc({rows, f.ffn_dim}, act);
  up_ = backend.alloc({rows, f.ffn_dim}, act);
  ffn_ = backend.alloc({rows, f.ffn_dim}, narrow);
}

void StackState::forward(Backend& backend, const StackWeights& weights, Tensor& x, const Tensor& positions,
                         Tensor& out) {
  const std::int64_t seq = positions.dim(0);
  HS_CHECK(seq >= 1 && seq <= max_step_,
           "step of " + std::to_string(seq) + " positions exceeds the state's " + std::to_string(max_step_));
  HS_CHECK(x.dim(0) == batch_ * seq, "x has " + std::to_string(x.dim(0)) + " rows, expected batch·seq");
  for (std::size_t i = 0; i < weights.layers.size(); ++i)
    layer(backend, weights.layers[i], weights.inv_freq, i, x, positions, seq);
  backend.rms_norm(x, weights.norm, kRmsNormEps, out);
}

void StackState::layer(Backend& backend, const LayerWeights& w, const Tensor& inv_freq, std::size_t index,
                       Tensor& x, const Tensor& positions, std::int64_t seq) {
  const std::int64_t rows = batch_ * seq;
  Tensor norm = norm_.slice(0, rows), q = q_.slice(0, rows), k = k_.slice(0, rows), v = v_.slice(0, rows);
  Tensor attn = attn_.slice(0, rows);
  Tensor gate = gate_.slice(0, rows), up = up_.slice(0, rows), ffn = ffn_.slice(0, rows);

  backend.rms_norm(x, w.sa_norm, kRmsNormEps, norm);
  Tensor* const qkv[] = {&q, &k, &v};
  backend.linear_parts(norm, w.qkv_proj, qkv);
  Tensor q4 = q.reshape({batch_, seq, heads_, head_dim_});
  Tensor k4 = k.reshape({batch_, seq, kv_heads_, head_dim_});
  Tensor attn4 = attn.reshape({batch_, seq, heads_, head_dim_});
  backend.rope_store(q4, k4, v.reshape({batch_, seq, kv_heads_, head_dim_}), positions, inv_freq, k_cache_[index],
                     v_cache_[index]);
  backend.attention(q4, k_cache_[index], v_cache_[index], &positions, attn4);
  backend.linear_add(attn, w.output_proj, x);

  backend.rms_norm(x, w.mlp_norm, kRmsNormEps, norm);
  backend.linear_swiglu(norm, w.w13, gate, up, ffn);
  backend.linear_add(ffn, w.w2, x);
}

}  // namespace hs
