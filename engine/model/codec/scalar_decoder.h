// The codec's scalar decoder (REFERENCE.md "The codec" 5): latent frames (25 Hz, 128 channels per
// stereo channel) → round(9x)/9 → a 5-tap 'same' conv → 5 upsampling blocks (causal transposed
// conv + 5 dilated causal residual units with PReLU) → PostProcessor (×2 repeat, causal conv,
// PReLU) → a causal conv to one channel at 48 kHz. Channel-major activations [B, C, T]; weight norm
// is folded at load. Only the input conv looks ahead (2 frames), which ScalarDecoderStream uses.
#pragma once

#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_weights.h"

namespace hs {

struct DecoderConv {
  Tensor weight;  // [Cout, Cin, K]
  Tensor bias;    // [Cout]
  std::int64_t dilation = 1;
  // Input frames of context one output needs besides its own: dilation · (K − 1).
  std::int64_t span() const { return dilation * (weight.dim(2) - 1); }
};

struct ResidualUnit {
  DecoderConv conv1;  // kernel res_kernel_size, dilated, causal
  Tensor alpha1;      // PReLU slope(s)
  DecoderConv conv2;  // kernel 1
  Tensor alpha2;
};

struct UpsampleBlock {
  Tensor up_weight;  // [Cin, Cout, 2·stride], transposed conv
  Tensor up_bias;    // [Cout]
  std::int64_t stride = 1;
  std::vector<ResidualUnit> units;
};

class ScalarDecoder {
 public:
  ScalarDecoder(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config);

  Backend& backend() const { return *backend_; }
  std::int64_t latent_channels() const { return latent_channels_; }      // per stereo channel (128)
  std::int64_t samples_per_frame() const { return samples_per_frame_; }  // 1920 at 48 kHz
  std::int64_t look_ahead_frames() const { return input_conv_.span() / 2; }

  // Splits flow-matching latents [T, S·latent_channels] into the decoder's batch of S channels,
  // [S, latent_channels, T] (channel-major).
  Tensor split_channels(const Tensor& latents) const;
  // Audio [B, 1, T · samples_per_frame] for latent [B, latent_channels, T], in one call.
  Tensor decode(const Tensor& latent) const;

  // The layers, in order (read by ScalarDecoderStream).
  const DecoderConv& input_conv() const { return input_conv_; }
  const std::vector<UpsampleBlock>& blocks() const { return blocks_; }
  std::int64_t post_repeat() const { return post_repeat_; }
  const DecoderConv& post_conv() const { return post_conv_; }
  const Tensor& post_alpha() const { return post_alpha_; }
  const DecoderConv& output_conv() const { return output_conv_; }

 private:
  Backend* backend_;
  std::int64_t latent_channels_;
  std::int64_t samples_per_frame_;
  std::int64_t post_repeat_;
  DecoderConv input_conv_;  // 'same' padding: span / 2 zeros on each side
  std::vector<UpsampleBlock> blocks_;
  DecoderConv post_conv_;
  Tensor post_alpha_;
  DecoderConv output_conv_;
};

// Grid of the latent quantisation before the decoder: x → round(x · 9) / 9.
inline constexpr float kLatentGridLevels = 9.0f;

}  // namespace hs
