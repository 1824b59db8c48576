#include "engine/model/codec/scalar_decoder.h"

#include <array>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::array<std::int64_t, 5> kResidualDilations = {1, 3, 5, 7, 9};
constexpr std::string_view kPrefix = "scalar_model.decoder.";

std::string layer(std::size_t index) { return std::string(kPrefix) + std::to_string(index); }

DecoderConv load_conv(const CodecWeightLoader& w, const std::string& prefix, const Shape& shape,
                      std::int64_t dilation) {
  return {w.weight_norm(prefix, shape), w.device(prefix + ".bias", {shape[0]}), dilation};
}

}  // namespace

ScalarDecoder::ScalarDecoder(Backend& backend, const CodecWeightLoader& w, const CodecConfig& c)
    : backend_(&backend), latent_channels_(c.latent_hidden_dim), post_repeat_(c.num_samples) {
  const auto blocks = c.upsample_factors.size();
  std::int64_t channels = c.init_channel << blocks;
  if (c.delay_kernel_size % 2 != 1)
    throw FormatError("codec config: delay_kernel_size " + std::to_string(c.delay_kernel_size) + " is not odd");
  input_conv_ = load_conv(w, layer(0), {channels, latent_channels_, c.delay_kernel_size}, 1);
  std::int64_t upsampling = post_repeat_;
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::int64_t stride = c.upsample_factors[i];
    if (c.upsample_kernel_sizes[i] != 2 * stride)
      throw FormatError("codec config: upsample kernel " + std::to_string(c.upsample_kernel_sizes[i]) +
                        " is not twice its factor " + std::to_string(stride));
    const std::string prefix = layer(i + 1);
    UpsampleBlock block;
    block.stride = stride;
    block.up_weight = w.weight_norm(prefix + ".up_conv.layer", {channels, channels / 2, 2 * stride});
    block.up_bias = w.device(prefix + ".up_conv.layer.bias", {channels / 2});
    channels /= 2;
    for (std::size_t u = 0; u < kResidualDilations.size(); ++u) {
      const std::string unit = prefix + ".convs." + std::to_string(u);
      block.units.push_back({load_conv(w, unit + ".conv1", {channels, channels, c.res_kernel_size},
                                       kResidualDilations[u]),
                             w.device(unit + ".activation1.weight", {1}),
                             load_conv(w, unit + ".conv2", {channels, channels, 1}, 1),
                             w.device(unit + ".activation2.weight", {1})});
    }
    blocks_.push_back(std::move(block));
    upsampling *= stride;
  }
  samples_per_frame_ = upsampling;
  const std::string post = layer(blocks + 1);
  post_conv_ = {w.conv(w.host(post + ".conv.weight", {channels, channels, c.default_kernel_size})),
                w.device(post + ".conv.bias", {channels}), 1};
  post_alpha_ = w.device(post + ".activation.weight", {1});
  output_conv_ = load_conv(w, layer(blocks + 2), {1, channels, c.default_kernel_size}, 1);
}

Tensor ScalarDecoder::split_channels(const Tensor& latents) const {
  const std::int64_t frames = latents.dim(0), total = latents.dim(1);
  if (latents.rank() != 2 || total % latent_channels_ != 0)
    throw InvalidArgument("ScalarDecoder::split_channels: latents " + shape_str(latents.shape()) +
                          " are not [T, S·" + std::to_string(latent_channels_) + "]");
  Tensor out = backend_->alloc({total, frames}, DType::F32);
  backend_->transpose(latents, out);
  return out.reshape({total / latent_channels_, latent_channels_, frames});
}

Tensor ScalarDecoder::decode(const Tensor& latent) const {
  Backend& be = *backend_;
  if (latent.rank() != 3 || latent.dim(1) != latent_channels_)
    throw InvalidArgument("ScalarDecoder::decode: latent " + shape_str(latent.shape()) + ", expected [B, " +
                          std::to_string(latent_channels_) + ", T]");
  const std::int64_t batch = latent.dim(0);
  std::int64_t frames = latent.dim(2);
  Tensor rounded = be.alloc(latent.shape(), DType::F32);
  be.round_to_grid(latent, kLatentGridLevels, rounded);
  const std::int64_t half = input_conv_.span() / 2;
  Tensor h = be.alloc({batch, input_conv_.weight.dim(0), frames}, DType::F32);
  be.conv1d(rounded, input_conv_.weight, &input_conv_.bias, {.pad_left = half, .pad_right = half}, h);

  for (const UpsampleBlock& block : blocks_) {
    frames *= block.stride;
    const std::int64_t channels = block.up_weight.dim(1);
    Tensor x = be.alloc({batch, channels, frames}, DType::F32);
    be.conv_transpose1d(h, block.up_weight, &block.up_bias, block.stride, 0, x);
    Tensor y1 = be.alloc(x.shape(), DType::F32);
    Tensor y2 = be.alloc(x.shape(), DType::F32);
    for (const ResidualUnit& unit : block.units) {
      const DecoderConv& c1 = unit.conv1;
      be.conv1d_prelu(x, c1.weight, &c1.bias, unit.alpha1, {.dilation = c1.dilation, .pad_left = c1.span()}, y1);
      be.conv1d_prelu(y1, unit.conv2.weight, &unit.conv2.bias, unit.alpha2, {}, y2);
      be.add(x, y2, x);
    }
    h = x;
  }

  Tensor repeated = be.alloc({batch, h.dim(1), frames * post_repeat_}, DType::F32);
  be.repeat_last(h, post_repeat_, repeated);
  Tensor post = be.alloc(repeated.shape(), DType::F32);
  be.conv1d_prelu(repeated, post_conv_.weight, &post_conv_.bias, post_alpha_, {.pad_left = post_conv_.span()}, post);
  Tensor audio = be.alloc({batch, 1, repeated.dim(2)}, DType::F32);
  be.conv1d(post, output_conv_.weight, &output_conv_.bias, {.pad_left = output_conv_.span()}, audio);
  return audio;
}

}  // namespace hs
