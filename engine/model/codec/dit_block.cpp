#include "engine/model/codec/dit_block.h"

namespace hs {
namespace {

constexpr float kNormEps = 1e-6f;
constexpr std::int64_t kMlpMultiple = 256;

// Modulation vector m [B, D] of a block's [6, B, D] modulation.
Tensor vector_of(const Tensor& modulation, Modulation m) {
  const auto i = static_cast<std::int64_t>(m);
  return modulation.slice(i, i + 1).reshape({modulation.dim(1), modulation.dim(2)});
}

}  // namespace

DitScratch::DitScratch(Backend& backend, std::int64_t layers, std::int64_t batch, std::int64_t frames,
                       std::int64_t dim, std::int64_t hidden, DType narrow, DType gemm_input) {
  const std::int64_t rows = batch * frames;
  norm = backend.alloc({batch, frames, dim}, gemm_input);
  for (Tensor* t : {&q, &k, &v, &attn}) *t = backend.alloc({rows, dim}, narrow);
  proj = backend.alloc({rows, dim}, DType::F32);
  gate = backend.alloc({rows, hidden}, gemm_input);
  up = backend.alloc({rows, hidden}, narrow);
  if (gemm_input == DType::F8_E4M3) {
    norm_scale = backend.alloc({batch, frames}, DType::F32);
    gate_scale = backend.alloc({rows}, DType::F32);
  }
  modulation = backend.alloc({layers, kModulationCount, batch, dim}, DType::F32);
  for (Tensor* t : {&this->hidden, &emb, &final_shift, &final_scale}) *t = backend.alloc({batch, dim}, DType::F32);
  adaln = backend.alloc({batch, kModulationCount * dim}, DType::F32);
}

std::int64_t DitBlock::mlp_hidden(std::int64_t dim) {
  // ceil(8·dim / 3 / 256) · 256, in integers.
  return (8 * dim + 3 * kMlpMultiple - 1) / (3 * kMlpMultiple) * kMlpMultiple;
}

DitBlock::DitBlock(Backend& backend, const CodecWeightLoader& w, const std::string& prefix, std::int64_t dim,
                   std::int64_t heads)
    : backend_(&backend), dim_(dim), heads_(heads) {
  const std::int64_t hidden = mlp_hidden(dim);
  attn_norm_ = w.device(prefix + ".attn_norm.weight", {dim});
  mlp_norm_ = w.device(prefix + ".mlp_norm.weight", {dim});
  qkv_ = w.stacked_linear({prefix + ".attn.q_proj", prefix + ".attn.k_proj", prefix + ".attn.v_proj"}, dim, dim);
  o_ = w.linear(prefix + ".attn.o_proj", dim, dim, false);
  gate_up_ = w.stacked_linear({prefix + ".mlp.gate", prefix + ".mlp.up"}, dim, hidden);
  down_ = w.linear(prefix + ".mlp.down", hidden, dim, false);
}

void DitBlock::attention_norm(const Tensor& h, const Tensor& modulation, DitScratch& s) const {
  backend_->rms_norm_modulate(h, attn_norm_, kNormEps, vector_of(modulation, Modulation::AttnShift),
                              vector_of(modulation, Modulation::AttnScale), ScaledTensor(s.norm, s.norm_scale));
}

void DitBlock::forward(Tensor& h, const Tensor& modulation, const RopeTables& rope, DitScratch& s, const DitBlock* next,
                       const Tensor& next_modulation) const {
  Backend& be = *backend_;
  const std::int64_t batch = h.dim(0), frames = h.dim(1), head_dim = dim_ / heads_;
  const Shape rows_shape{batch * frames, dim_};
  const Shape head_shape{batch, frames, heads_, head_dim};
  const ScaledTensor norm(s.norm, s.norm_scale), product(s.gate, s.gate_scale);
  const ScaledTensor norm_rows(s.norm.reshape(rows_shape),
                               s.norm_scale.defined() ? s.norm_scale.reshape({batch * frames}) : Tensor());

  // Attention: h += gate · o_proj(attn(rope(q), rope(k), v)) over n = s.norm; then the MLP's
  // n = rmsnorm(h)·(1 + scale) + shift in the same pass.
  Tensor* qkv[] = {&s.q, &s.k, &s.v};
  be.linear_parts_rope(norm_rows, qkv_, qkv, 2, rope.positions, rope.inv_freq);  // q and k rotated
  Tensor attn = s.attn.reshape(head_shape);
  be.attention(s.q.reshape(head_shape), s.k.reshape(head_shape), s.v.reshape(head_shape), nullptr, attn);
  be.linear_gated_add_norm(s.attn, o_, vector_of(modulation, Modulation::AttnGate), s.proj, h, mlp_norm_, kNormEps,
                           vector_of(modulation, Modulation::MlpShift), vector_of(modulation, Modulation::MlpScale),
                           norm);

  // MLP: h += gate · down(silu(gate(n)) · up(n)); then the next block's attention input.
  be.linear_swiglu(norm_rows, gate_up_, s.gate, s.up, product);
  const Tensor mlp_gate = vector_of(modulation, Modulation::MlpGate);
  if (!next) return be.linear_gated_add(product, down_, mlp_gate, s.proj, h);
  be.linear_gated_add_norm(product, down_, mlp_gate, s.proj, h, next->attn_norm_, kNormEps,
                           vector_of(next_modulation, Modulation::AttnShift),
                           vector_of(next_modulation, Modulation::AttnScale), norm);
}

}  // namespace hs
