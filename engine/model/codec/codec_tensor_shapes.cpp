#include "engine/model/codec/codec_tensor_shapes.h"

#include <array>

#include "engine/model/codec/dit_block.h"

namespace hs {
namespace {

using Shapes = std::vector<std::pair<std::string, Shape>>;

constexpr std::int64_t kProjectKernel = 3;   // ProjectLayer's Conv1d
constexpr std::int64_t kSinusoidDim = 512;   // timestep sinusoid width
constexpr std::int64_t kFinalTableRows = 2;  // a stack's final shift, scale
constexpr std::int64_t kResidualUnits = 5;   // dilations 1, 3, 5, 7, 9
constexpr std::string_view kEstimator = "flow_matching.estimator.";
constexpr std::string_view kDecoder = "scalar_model.decoder.";

void linear(Shapes& out, const std::string& prefix, std::int64_t in, std::int64_t features, bool bias) {
  out.emplace_back(prefix + ".weight", Shape{features, in});
  if (bias) out.emplace_back(prefix + ".bias", Shape{features});
}

void project_layer(Shapes& out, const std::string& prefix, std::int64_t in, std::int64_t features) {
  out.emplace_back(prefix + ".ffn_1.weight", Shape{features, in, kProjectKernel});
  out.emplace_back(prefix + ".ffn_1.bias", Shape{features});
  linear(out, prefix + ".ffn_2", features, features, true);
}

void dit_stack(Shapes& out, const std::string& adaln, const std::string& blocks, const std::string& table,
               std::int64_t layers, std::int64_t dim) {
  linear(out, adaln + ".emb.timestep_embedder.linear_1", kSinusoidDim, dim, true);
  linear(out, adaln + ".emb.timestep_embedder.linear_2", dim, dim, true);
  linear(out, adaln + ".linear", dim, kModulationCount * dim, true);
  out.emplace_back(table, Shape{kFinalTableRows, dim});
  const std::int64_t hidden = DitBlock::mlp_hidden(dim);
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string p = blocks + "." + std::to_string(i);
    out.emplace_back(p + ".scale_shift_table", Shape{kModulationCount, dim});
    out.emplace_back(p + ".attn_norm.weight", Shape{dim});
    out.emplace_back(p + ".mlp_norm.weight", Shape{dim});
    for (const char* proj : {".attn.q_proj", ".attn.k_proj", ".attn.v_proj", ".attn.o_proj"})
      linear(out, p + proj, dim, dim, false);
    linear(out, p + ".mlp.gate", dim, hidden, false);
    linear(out, p + ".mlp.up", dim, hidden, false);
    linear(out, p + ".mlp.down", hidden, dim, false);
  }
}

// g [shape[0], 1, 1] and v `shape` of a weight-normed conv.
void weight_norm(Shapes& out, const std::string& prefix, const Shape& shape) {
  out.emplace_back(prefix + ".parametrizations.weight.original0", Shape{shape[0], 1, 1});
  out.emplace_back(prefix + ".parametrizations.weight.original1", shape);
}

void scalar_decoder(Shapes& out, const CodecConfig& c) {
  const auto blocks = c.upsample_factors.size();
  const auto layer = [](std::size_t i) { return std::string(kDecoder) + std::to_string(i); };
  std::int64_t channels = c.init_channel << blocks;
  weight_norm(out, layer(0), {channels, c.latent_hidden_dim, c.delay_kernel_size});
  out.emplace_back(layer(0) + ".bias", Shape{channels});
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::string prefix = layer(i + 1);
    weight_norm(out, prefix + ".up_conv.layer", {channels, channels / 2, c.upsample_kernel_sizes[i]});
    out.emplace_back(prefix + ".up_conv.layer.bias", Shape{channels / 2});
    channels /= 2;
    for (std::int64_t u = 0; u < kResidualUnits; ++u) {
      const std::string unit = prefix + ".convs." + std::to_string(u);
      weight_norm(out, unit + ".conv1", {channels, channels, c.res_kernel_size});
      out.emplace_back(unit + ".conv1.bias", Shape{channels});
      out.emplace_back(unit + ".activation1.weight", Shape{1});
      weight_norm(out, unit + ".conv2", {channels, channels, 1});
      out.emplace_back(unit + ".conv2.bias", Shape{channels});
      out.emplace_back(unit + ".activation2.weight", Shape{1});
    }
  }
  const std::string post = layer(blocks + 1);
  out.emplace_back(post + ".conv.weight", Shape{channels, channels, c.default_kernel_size});
  out.emplace_back(post + ".conv.bias", Shape{channels});
  out.emplace_back(post + ".activation.weight", Shape{1});
  const std::string output = layer(blocks + 2);
  out.emplace_back(output + ".bias", Shape{1});
  weight_norm(out, output, {1, channels, c.default_kernel_size});
}

}  // namespace

std::vector<std::pair<std::string, Shape>> codec_tensor_shapes(const CodecConfig& c) {
  Shapes out;
  for (std::int64_t q = 0; q < c.num_quantizers; ++q)
    out.emplace_back("flow_matching.vq_embed.layers." + std::to_string(q) + "._codebook.embed",
                     Shape{1, c.codebook_size, c.codebook_dim});
  if (c.codebook_dim != c.dim) linear(out, "flow_matching.vq_embed.project_out", c.codebook_dim, c.dim, true);
  linear(out, "flow_matching.cond_feature_emb", c.dim, c.dim, true);

  const std::string e(kEstimator);
  const std::int64_t d = c.num_attention_heads * c.attention_head_dim;
  project_layer(out, e + "proj_in", c.in_channels, d);
  dit_stack(out, e + "adaln_single", e + "transformer_blocks", e + "scale_shift_table", c.num_layers, d);
  project_layer(out, e + "connection_proj", c.in_channels + d, 2 * d);
  dit_stack(out, e + "adaln_single_2", e + "transformer_blocks_2", e + "scale_shift_table_2", c.num_layers_2, 2 * d);
  project_layer(out, e + "proj_out", 2 * d, c.out_channels);

  scalar_decoder(out, c);
  return out;
}

}  // namespace hs
