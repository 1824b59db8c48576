// The flow-matching velocity estimator (`flow_matching.estimator`, REFERENCE.md "The codec" 3):
// ProjectLayer in → DiT stack at width D → AdaLN final norm → concat with the input →
// ProjectLayer to 2D → second DiT stack → final norm → ProjectLayer to the latent channels.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_weights.h"
#include "engine/model/codec/dit_block.h"

namespace hs {

// A ProjectLayer's temporaries for one (batch, frames) shape.
struct ProjectScratch {
  Tensor taps;  // [B, T, 3·out]: the conv's per-tap products
  Tensor rows;  // [B, T, out]: the conv's output
};

// Conv1d(k=3, pad 1) · 1/sqrt(3) → Linear, on time-major [B, T, C]. The 1/sqrt(3) is folded into
// the conv weight and bias at load. The conv runs as one linear over its 3 taps (a GEMM) and a
// shifted sum (Backend::sum_taps).
class ProjectLayer {
 public:
  ProjectLayer(Backend& backend, const CodecWeightLoader& weights, const std::string& prefix, std::int64_t in,
               std::int64_t out);
  ProjectScratch make_scratch(std::int64_t batch, std::int64_t frames) const;
  // out [B, T, out] for x [B, T, in].
  void forward(const Tensor& x, ProjectScratch& scratch, Tensor& out) const;

 private:
  Backend* backend_;
  Weight conv_taps_;  // [3·out, in], scaled (CodecWeightLoader::conv_taps)
  Tensor conv_bias_;  // [out], scaled
  Weight linear_;
};

// One AdaLN-single stack: timestep MLP, shared modulation, blocks, final LayerNorm modulation.
class DitStack {
 public:
  DitStack(Backend& backend, const CodecWeightLoader& weights, const std::string& adaln_prefix,
           const std::string& blocks_prefix, const std::string& table_name, std::int64_t layers, std::int64_t dim,
           std::int64_t heads);
  std::int64_t dim() const { return dim_; }
  std::int64_t head_dim() const { return dim_ / heads_; }
  std::int64_t layers() const { return static_cast<std::int64_t>(blocks_.size()); }

  // h [B, T, D] ← final_norm(blocks(h)) in place, conditioned on the timestep sinusoid [B, 512].
  void forward(Tensor& h, const Tensor& sinusoid, const RopeTables& rope, DitScratch& scratch) const;

 private:
  Backend* backend_;
  std::int64_t dim_;
  std::int64_t heads_;
  Weight time_1_, time_2_;  // timestep embedder: Linear(512 → D) → SiLU → Linear(D → D) = emb
  Weight adaln_;            // Linear(SiLU(emb)) → 6·D
  Tensor final_shift_;      // [D] scale_shift_table[0], added to emb
  Tensor final_scale_;      // [D] scale_shift_table[1], added to emb
  Tensor tables_;           // [L, 6·D] every block's scale_shift_table, added to the adaln output
  std::vector<DitBlock> blocks_;
};

class Estimator {
 public:
  Estimator(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config);
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }

  // Activations for calls on [batch, frames] inputs; reuse it across calls of one shape.
  struct Scratch;
  std::unique_ptr<Scratch> make_scratch(std::int64_t batch, std::int64_t frames) const;

  // out [B, T, out_channels] = velocity for x [B, T, in_channels] at flow times t F32 [B].
  void forward(const Tensor& x, const Tensor& t, Scratch& scratch, Tensor& out) const;

 private:
  Backend* backend_;
  DType narrow_;      // the DiT blocks' attention inputs and outputs (DitScratch::q, k, v, attn)
  DType gemm_input_;  // their norm and SwiGLU outputs (DitScratch::norm, gate)
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  ProjectLayer proj_in_;
  DitStack stack_1_;
  ProjectLayer connection_;
  DitStack stack_2_;
  ProjectLayer proj_out_;
};

// Every activation of one estimator call, allocated once per (batch, frames): forward() then
// allocates nothing, so a backend can capture it in a graph.
struct Estimator::Scratch {
  Tensor sinusoid;  // [B, 512]
  Tensor h1;        // [B, T, D]
  Tensor joined;    // [B, T, in + D]
  Tensor h2;        // [B, T, 2D]
  RopeTables rope_1, rope_2;
  DitScratch blocks_1, blocks_2;
  ProjectScratch proj_in, connection, proj_out;
};

}  // namespace hs
