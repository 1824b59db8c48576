#include "engine/model/codec/dit_block.h"

namespace hs {
namespace {

constexpr float kNormEps = 1e-6f;
constexpr std::int64_t kMlpMultiple = 256;

Tensor vector_of(const DitScratch& s, Modulation m) { return s.vectors[static_cast<std::size_t>(m)]; }

}  // namespace

DitScratch::DitScratch(Backend& backend, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                       std::int64_t hidden) {
  const std::int64_t rows = batch * frames;
  for (Tensor* t : {&norm, &q, &k, &v, &attn, &proj}) *t = backend.alloc({rows, dim}, DType::F32);
  gate = backend.alloc({rows, hidden}, DType::F32);
  up = backend.alloc({rows, hidden}, DType::F32);
  modulation = backend.alloc({batch, kModulationCount * dim}, DType::F32);
  for (auto& t : vectors) t = backend.alloc({batch, dim}, DType::F32);
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
  table_ = w.device(prefix + ".scale_shift_table", {kModulationCount, dim}).reshape({kModulationCount * dim});
  attn_norm_ = w.device(prefix + ".attn_norm.weight", {dim});
  mlp_norm_ = w.device(prefix + ".mlp_norm.weight", {dim});
  q_ = w.linear(prefix + ".attn.q_proj", dim, dim, false);
  k_ = w.linear(prefix + ".attn.k_proj", dim, dim, false);
  v_ = w.linear(prefix + ".attn.v_proj", dim, dim, false);
  o_ = w.linear(prefix + ".attn.o_proj", dim, dim, false);
  gate_ = w.linear(prefix + ".mlp.gate", dim, hidden, false);
  up_ = w.linear(prefix + ".mlp.up", dim, hidden, false);
  down_ = w.linear(prefix + ".mlp.down", hidden, dim, false);
}

void DitBlock::forward(Tensor& h, const Tensor& adaln, const RopeTables& rope, DitScratch& s) const {
  Backend& be = *backend_;
  const std::int64_t batch = h.dim(0), frames = h.dim(1), head_dim = dim_ / heads_;
  const Shape rows_shape{batch * frames, dim_};
  const Shape seq_shape{batch, frames, dim_};
  const Shape head_shape{batch, frames, heads_, head_dim};
  Tensor rows = h.reshape(rows_shape);

  be.add_row(adaln, table_, s.modulation);
  for (std::int64_t m = 0; m < kModulationCount; ++m)
    be.read_columns(s.modulation, m * dim_, s.vectors[static_cast<std::size_t>(m)]);

  // Attention: n = rmsnorm(h)·(1 + scale) + shift; h += gate · o_proj(attn(rope(q), rope(k), v)).
  be.rms_norm(rows, attn_norm_, kNormEps, s.norm);
  Tensor norm_seq = s.norm.reshape(seq_shape);
  be.modulate(norm_seq, vector_of(s, Modulation::AttnShift), vector_of(s, Modulation::AttnScale), norm_seq);
  be.linear(s.norm, q_, s.q);
  be.linear(s.norm, k_, s.k);
  be.linear(s.norm, v_, s.v);
  Tensor q = s.q.reshape(head_shape), k = s.k.reshape(head_shape);
  be.rope(q, rope.positions, rope.inv_freq);
  be.rope(k, rope.positions, rope.inv_freq);
  Tensor attn = s.attn.reshape(head_shape);
  be.attention(q, k, s.v.reshape(head_shape), nullptr, attn);
  be.linear(s.attn, o_, s.proj);
  be.gated_add(h, s.proj.reshape(seq_shape), vector_of(s, Modulation::AttnGate), h);

  // MLP: h += gate · down(silu(gate(n)) · up(n)).
  be.rms_norm(rows, mlp_norm_, kNormEps, s.norm);
  be.modulate(norm_seq, vector_of(s, Modulation::MlpShift), vector_of(s, Modulation::MlpScale), norm_seq);
  be.linear(s.norm, gate_, s.gate);
  be.linear(s.norm, up_, s.up);
  be.silu_mul(s.gate, s.up, s.gate);
  be.linear(s.gate, down_, s.proj);
  be.gated_add(h, s.proj.reshape(seq_shape), vector_of(s, Modulation::MlpGate), h);
}

}  // namespace hs
