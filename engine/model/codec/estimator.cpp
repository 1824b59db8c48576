#include "engine/model/codec/estimator.h"

#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kProjectKernel = 3;
constexpr std::int64_t kSinusoidDim = 512;       // timestep sinusoid width
constexpr float kTimestepScale = 1000.0f;        // the sinusoid embeds t · 1000
constexpr float kTimestepMaxPeriod = 10000.0f;
constexpr double kRopeBase = 10000.0;
constexpr float kFinalNormEps = 1e-6f;
constexpr std::int64_t kFinalTableRows = 2;  // shift, scale

RopeTables make_rope(Backend& backend, std::int64_t frames, std::int64_t head_dim) {
  std::vector<std::int32_t> positions(static_cast<std::size_t>(frames));
  std::iota(positions.begin(), positions.end(), 0);
  std::vector<float> inv_freq(static_cast<std::size_t>(head_dim / 2));
  for (std::size_t j = 0; j < inv_freq.size(); ++j)
    inv_freq[j] = static_cast<float>(
        1.0 / std::pow(kRopeBase, static_cast<double>(2 * j) / static_cast<double>(head_dim)));
  return {backend.upload(Tensor::from_i32({frames}, positions)),
          backend.upload(Tensor::from_f32({head_dim / 2}, inv_freq))};
}

}  // namespace

ProjectLayer::ProjectLayer(Backend& backend, const CodecWeightLoader& w, const std::string& prefix, std::int64_t in,
                           std::int64_t out)
    : backend_(&backend) {
  const float fold = static_cast<float>(1.0 / std::sqrt(static_cast<double>(kProjectKernel)));
  Tensor weight = w.host(prefix + ".ffn_1.weight", {out, in, kProjectKernel}).to_f32();
  Tensor bias = w.host(prefix + ".ffn_1.bias", {out}).to_f32();
  for (Tensor* t : {&weight, &bias}) {
    float* p = t->data<float>();
    for (std::int64_t i = 0; i < t->numel(); ++i) p[i] *= fold;
  }
  conv_taps_ = w.conv_taps(weight);
  conv_bias_ = w.upload(bias);
  linear_ = w.linear(prefix + ".ffn_2", out, out, true);
}

ProjectScratch ProjectLayer::make_scratch(std::int64_t batch, std::int64_t frames) const {
  Backend& be = *backend_;
  const std::int64_t mid = conv_bias_.dim(0);
  return {be.alloc({batch, frames, kProjectKernel * mid}, DType::F32), be.alloc({batch, frames, mid}, DType::F32)};
}

void ProjectLayer::forward(const Tensor& x, ProjectScratch& s, Tensor& out) const {
  Backend& be = *backend_;
  const std::int64_t rows = x.dim(0) * x.dim(1), mid = conv_bias_.dim(0);
  Tensor taps = s.taps.reshape({rows, kProjectKernel * mid});
  be.linear(x.reshape({rows, x.dim(2)}), conv_taps_, taps);
  be.sum_taps(s.taps, &conv_bias_, s.rows);
  Tensor flat_out = out.reshape({rows, out.dim(2)});
  be.linear(s.rows.reshape({rows, mid}), linear_, flat_out);
}

DitStack::DitStack(Backend& backend, const CodecWeightLoader& w, const std::string& adaln_prefix,
                   const std::string& blocks_prefix, const std::string& table_name, std::int64_t layers,
                   std::int64_t dim, std::int64_t heads)
    : backend_(&backend), dim_(dim), heads_(heads) {
  if (heads <= 0 || dim % heads != 0 || dim / heads % 2 != 0)
    throw FormatError("codec config: width " + std::to_string(dim) + " does not split into " +
                      std::to_string(heads) + " heads of even size");
  const std::string embedder = adaln_prefix + ".emb.timestep_embedder";
  time_1_ = w.linear(embedder + ".linear_1", kSinusoidDim, dim, true);
  time_2_ = w.linear(embedder + ".linear_2", dim, dim, true);
  adaln_ = w.linear(adaln_prefix + ".linear", dim, kModulationCount * dim, true);
  const Tensor table = w.device(table_name, {kFinalTableRows, dim});
  final_shift_ = table.slice(0, 1).reshape({dim});
  final_scale_ = table.slice(1, 2).reshape({dim});
  blocks_.reserve(static_cast<std::size_t>(layers));
  Tensor tables = Tensor::zeros({layers, kModulationCount * dim}, DType::F32);
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string prefix = blocks_prefix + "." + std::to_string(i);
    const Tensor table = w.host(prefix + ".scale_shift_table", {kModulationCount, dim}).to_f32();
    std::memcpy(static_cast<char*>(tables.raw()) + i * table.bytes(), table.raw(), table.bytes());
    blocks_.emplace_back(backend, w, prefix, dim, heads);
  }
  tables_ = w.upload(tables);
}

void DitStack::forward(Tensor& h, const Tensor& sinusoid, const RopeTables& rope, DitScratch& s) const {
  Backend& be = *backend_;
  const std::int64_t batch = h.dim(0), frames = h.dim(1);
  // emb = linear_2(silu(linear_1(sinusoid))); adaln = linear(silu(emb)).
  be.linear(sinusoid, time_1_, s.hidden);
  be.silu(s.hidden, s.hidden);
  be.linear(s.hidden, time_2_, s.emb);
  be.silu(s.emb, s.hidden);
  be.linear(s.hidden, adaln_, s.adaln);
  be.modulation_vectors(s.adaln, tables_, s.modulation);

  auto modulation = [&](std::size_t i) {
    const auto l = static_cast<std::int64_t>(i);
    return s.modulation.slice(l, l + 1).reshape({kModulationCount, batch, dim_});
  };
  // Each block's last residual add writes the next block's attention input (DitBlock::forward).
  if (!blocks_.empty()) blocks_.front().attention_norm(h, modulation(0), s);
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const bool last = i + 1 == blocks_.size();
    blocks_[i].forward(h, modulation(i), rope, s, last ? nullptr : &blocks_[i + 1], last ? Tensor() : modulation(i + 1));
  }

  // Final LayerNorm (no affine) · (1 + table[1] + emb) + table[0] + emb.
  Tensor rows = h.reshape({batch * frames, dim_});
  be.layer_norm(rows, kFinalNormEps, rows);
  be.add_row(s.emb, final_shift_, s.final_shift);
  be.add_row(s.emb, final_scale_, s.final_scale);
  be.modulate(h, s.final_shift, s.final_scale, h);
}

Estimator::Estimator(Backend& backend, const CodecWeightLoader& w, const CodecConfig& c)
    : backend_(&backend),
      narrow_(w.narrow_dtype()),
      gemm_input_(w.gemm_input_dtype()),
      in_channels_(c.in_channels),
      out_channels_(c.out_channels),
      proj_in_(backend, w, "flow_matching.estimator.proj_in", c.in_channels,
               c.num_attention_heads * c.attention_head_dim),
      stack_1_(backend, w, "flow_matching.estimator.adaln_single", "flow_matching.estimator.transformer_blocks",
               "flow_matching.estimator.scale_shift_table", c.num_layers, c.num_attention_heads * c.attention_head_dim,
               c.num_attention_heads),
      connection_(backend, w, "flow_matching.estimator.connection_proj",
                  c.in_channels + c.num_attention_heads * c.attention_head_dim,
                  2 * c.num_attention_heads * c.attention_head_dim),
      stack_2_(backend, w, "flow_matching.estimator.adaln_single_2", "flow_matching.estimator.transformer_blocks_2",
               "flow_matching.estimator.scale_shift_table_2", c.num_layers_2,
               2 * c.num_attention_heads * c.attention_head_dim, c.num_attention_heads),
      proj_out_(backend, w, "flow_matching.estimator.proj_out", 2 * c.num_attention_heads * c.attention_head_dim,
                c.out_channels) {}

std::unique_ptr<Estimator::Scratch> Estimator::make_scratch(std::int64_t batch, std::int64_t frames) const {
  Backend& be = *backend_;
  const std::int64_t d1 = stack_1_.dim(), d2 = stack_2_.dim();
  return std::make_unique<Scratch>(Scratch{
      be.alloc({batch, kSinusoidDim}, DType::F32),
      be.alloc({batch, frames, d1}, DType::F32),
      be.alloc({batch, frames, in_channels_ + d1}, DType::F32),
      be.alloc({batch, frames, d2}, DType::F32),
      make_rope(be, frames, stack_1_.head_dim()),
      make_rope(be, frames, stack_2_.head_dim()),
      DitScratch(be, stack_1_.layers(), batch, frames, d1, DitBlock::mlp_hidden(d1), narrow_, gemm_input_),
      DitScratch(be, stack_2_.layers(), batch, frames, d2, DitBlock::mlp_hidden(d2), narrow_, gemm_input_),
      proj_in_.make_scratch(batch, frames),
      connection_.make_scratch(batch, frames),
      proj_out_.make_scratch(batch, frames),
  });
}

void Estimator::forward(const Tensor& x, const Tensor& t, Scratch& s, Tensor& out) const {
  Backend& be = *backend_;
  const std::int64_t batch = x.dim(0), frames = x.dim(1);
  if (x.shape() != Shape{batch, frames, in_channels_} || s.h1.dim(0) != batch || s.h1.dim(1) != frames)
    throw InvalidArgument("Estimator::forward: x " + shape_str(x.shape()) + " does not match the scratch for " +
                          shape_str(s.h1.shape()) + " with " + std::to_string(in_channels_) + " input channels");
  be.timestep_embedding(t, kTimestepScale, kTimestepMaxPeriod, s.sinusoid);

  proj_in_.forward(x, s.proj_in, s.h1);
  stack_1_.forward(s.h1, s.sinusoid, s.rope_1, s.blocks_1);

  be.write_columns(x, s.joined, 0);
  be.write_columns(s.h1, s.joined, in_channels_);
  connection_.forward(s.joined, s.connection, s.h2);
  stack_2_.forward(s.h2, s.sinusoid, s.rope_2, s.blocks_2);

  proj_out_.forward(s.h2, s.proj_out, out);
}

}  // namespace hs
