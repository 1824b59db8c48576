#include "engine/model/lm/transformer.h"

#include "engine/core/error.h"

namespace hs {
namespace {

// rope(q), rope(k), k and v into the cache, attention into attn: q [N, H·hd], k, v [N, KV·hd].
using Attend = std::function<void(Tensor& q, Tensor& k, Tensor& v, Tensor& attn)>;

// One layer over the first `rows` rows of the scratch; x [rows, dim] is updated in place.
void layer(Backend& backend, const LayerWeights& w, StackScratch& s, std::int64_t rows, Tensor& x,
           const Attend& attend) {
  Tensor norm = s.norm.slice(0, rows), q = s.q.slice(0, rows), k = s.k.slice(0, rows), v = s.v.slice(0, rows);
  Tensor attn = s.attn.slice(0, rows);
  Tensor gate = s.gate.slice(0, rows), up = s.up.slice(0, rows), ffn = s.ffn.slice(0, rows);

  backend.rms_norm(x, w.sa_norm, kRmsNormEps, norm);
  Tensor* const qkv[] = {&q, &k, &v};
  backend.linear_parts(norm, w.qkv_proj, qkv);
  attend(q, k, v, attn);
  backend.linear_add(attn, w.output_proj, x);

  backend.rms_norm(x, w.mlp_norm, kRmsNormEps, norm);
  backend.linear_swiglu(norm, w.w13, gate, up, ffn);
  backend.linear_add(ffn, w.w2, x);
}

}  // namespace

std::string_view kv_cache_name(KvCache kv) { return kv == KvCache::Fp8 ? "fp8" : "auto"; }

KvCache parse_kv_cache(std::string_view text, std::string_view what) {
  if (text == "auto") return KvCache::Auto;
  if (text == "fp8") return KvCache::Fp8;
  throw InvalidArgument(std::string(what) + ": expected auto or fp8, got \"" + std::string(text) + "\"");
}

DType kv_cache_dtype(KvCache kv, DType narrow) { return kv == KvCache::Fp8 ? DType::F8_E4M3 : narrow; }

ScaledTensor alloc_kv(Backend& backend, const Shape& shape, DType dtype) {
  if (dtype != DType::F8_E4M3) return backend.alloc(shape, dtype);
  return {backend.alloc(shape, dtype), backend.alloc(Shape(shape.begin(), shape.end() - 1), DType::F32)};
}

StackScratch::StackScratch(Backend& backend, const LlamaFlavor& f, std::int64_t rows, DType narrow) : rows(rows) {
  HS_CHECK(rows >= 1, "StackScratch needs at least one row");
  const DType act = backend.activation_dtype();
  norm = backend.alloc({rows, f.dim}, narrow);
  q = backend.alloc({rows, f.heads * f.head_dim()}, act);
  k = backend.alloc({rows, f.kv_heads * f.head_dim()}, act);
  v = backend.alloc({rows, f.kv_heads * f.head_dim()}, act);
  attn = backend.alloc({rows, f.heads * f.head_dim()}, narrow);
  gate = backend.alloc({rows, f.ffn_dim}, act);
  up = backend.alloc({rows, f.ffn_dim}, act);
  ffn = backend.alloc({rows, f.ffn_dim}, narrow);
}

StackState::StackState(Backend& backend, const LlamaFlavor& f, std::int64_t batch, std::int64_t capacity,
                       std::int64_t max_step, DType narrow, DType kv)
    : batch_(batch), max_step_(max_step), scratch_(backend, f, batch * max_step, narrow) {
  HS_CHECK(batch >= 1 && capacity >= 1 && max_step >= 1, "StackState needs positive sizes");
  for (std::int64_t i = 0; i < f.layers; ++i) {
    k_cache_.push_back(alloc_kv(backend, {batch, capacity, f.kv_heads, f.head_dim()}, kv));
    v_cache_.push_back(alloc_kv(backend, {batch, capacity, f.kv_heads, f.head_dim()}, kv));
  }
}

void StackState::forward(Backend& backend, const StackWeights& weights, Tensor& x, const Tensor& positions,
                         Tensor& out) {
  const std::int64_t seq = positions.dim(0);
  HS_CHECK(seq >= 1 && seq <= max_step_,
           "step of " + std::to_string(seq) + " positions exceeds the state's " + std::to_string(max_step_));
  const std::int64_t batch = x.dim(0) / seq;
  HS_CHECK(x.dim(0) == batch * seq && batch >= 1 && batch <= batch_,
           "x has " + std::to_string(x.dim(0)) + " rows, expected b·" + std::to_string(seq) + " with b ≤ " +
               std::to_string(batch_));
  const LlamaFlavor& f = weights.flavor;
  for (std::size_t i = 0; i < weights.layers.size(); ++i) {
    const ScaledTensor k_cache = k_cache_[i].slice(0, batch), v_cache = v_cache_[i].slice(0, batch);
    layer(backend, weights.layers[i], scratch_, batch * seq, x, [&](Tensor& q, Tensor& k, Tensor& v, Tensor& attn) {
      Tensor q4 = q.reshape({batch, seq, f.heads, f.head_dim()});
      Tensor k4 = k.reshape({batch, seq, f.kv_heads, f.head_dim()});
      Tensor attn4 = attn.reshape({batch, seq, f.heads, f.head_dim()});
      backend.rope_store(q4, k4, v.reshape({batch, seq, f.kv_heads, f.head_dim()}), positions, weights.inv_freq,
                         k_cache, v_cache);
      backend.attention(q4, k_cache, v_cache, &positions, attn4);
    });
  }
  backend.rms_norm(x, weights.norm, kRmsNormEps, out);
}

KvPool::KvPool(Backend& backend, const LlamaFlavor& f, std::int64_t blocks, std::int64_t block_size, DType kv)
    : blocks(blocks), block_size(block_size) {
  HS_CHECK(blocks >= 1 && block_size >= 1, "KvPool needs positive sizes");
  for (std::int64_t i = 0; i < f.layers; ++i) {
    k.push_back(alloc_kv(backend, {blocks, block_size, f.kv_heads, f.head_dim()}, kv));
    v.push_back(alloc_kv(backend, {blocks, block_size, f.kv_heads, f.head_dim()}, kv));
  }
}

void paged_forward(Backend& backend, const StackWeights& weights, KvPool& pool, StackScratch& scratch, Tensor& x,
                   const PagedTokens& tokens, Tensor& out) {
  const std::int64_t n = x.dim(0);
  HS_CHECK(n >= 1 && n <= scratch.rows,
           "paged step of " + std::to_string(n) + " tokens exceeds the scratch's " + std::to_string(scratch.rows));
  const LlamaFlavor& f = weights.flavor;
  for (std::size_t i = 0; i < weights.layers.size(); ++i) {
    layer(backend, weights.layers[i], scratch, n, x, [&](Tensor& q, Tensor& k, Tensor& v, Tensor& attn) {
      Tensor q3 = q.reshape({n, f.heads, f.head_dim()}), k3 = k.reshape({n, f.kv_heads, f.head_dim()});
      Tensor attn3 = attn.reshape({n, f.heads, f.head_dim()});
      backend.rope_store_paged(q3, k3, v.reshape({n, f.kv_heads, f.head_dim()}), tokens.positions, weights.inv_freq,
                               tokens.slots, pool.k[i], pool.v[i]);
      backend.paged_attention(q3, pool.k[i], pool.v[i], tokens.block_tables, tokens.kv_rows, tokens.positions, attn3);
    });
  }
  backend.rms_norm(x, weights.norm, kRmsNormEps, out);
}

}  // namespace hs
