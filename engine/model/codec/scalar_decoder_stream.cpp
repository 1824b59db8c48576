#include "engine/model/codec/scalar_decoder_stream.h"

#include "engine/core/error.h"

namespace hs {

ScalarDecoderStream::ScalarDecoderStream(const ScalarDecoder& decoder, std::int64_t batch)
    : decoder_(&decoder), backend_(&decoder.backend()), batch_(batch), drop_pending_(decoder.look_ahead_frames()) {
  if (batch <= 0) throw InvalidArgument("ScalarDecoderStream: batch must be positive");
  auto add_carry = [&](std::int64_t channels, std::int64_t frames) {
    carries_.push_back(backend_->alloc({batch, channels, frames}, DType::F32));
  };
  const DecoderConv& in = decoder.input_conv();
  add_carry(in.weight.dim(1), in.span());
  for (const UpsampleBlock& block : decoder.blocks()) {
    add_carry(block.up_weight.dim(0), 1);
    for (const ResidualUnit& unit : block.units) {
      add_carry(unit.conv1.weight.dim(1), unit.conv1.span());
      add_carry(unit.conv2.weight.dim(1), unit.conv2.span());
    }
  }
  add_carry(decoder.post_conv().weight.dim(1), decoder.post_conv().span());
  add_carry(decoder.output_conv().weight.dim(1), decoder.output_conv().span());
}

Tensor ScalarDecoderStream::causal_conv(const DecoderConv& conv, const Tensor& x, Tensor& carry) {
  Backend& be = *backend_;
  const std::int64_t frames = x.dim(2), span = conv.span();
  Tensor out = be.alloc({batch_, conv.weight.dim(0), frames}, DType::F32);
  if (span == 0) {
    be.conv1d(x, conv.weight, &conv.bias, {}, out);
    return out;
  }
  Tensor window = be.alloc({batch_, x.dim(1), span + frames}, DType::F32);
  be.write_columns(carry, window, 0);
  be.write_columns(x, window, span);
  be.conv1d(window, conv.weight, &conv.bias, {.dilation = conv.dilation}, out);
  be.read_columns(window, frames, carry);
  return out;
}

Tensor ScalarDecoderStream::upsample(const UpsampleBlock& block, const Tensor& x, Tensor& carry) {
  Backend& be = *backend_;
  const std::int64_t frames = x.dim(2);
  Tensor window = be.alloc({batch_, x.dim(1), frames + 1}, DType::F32);
  be.write_columns(carry, window, 0);
  be.write_columns(x, window, 1);
  // Output of the carried frame's slot is the previous chunk's; keep the next frames·stride.
  Tensor out = be.alloc({batch_, block.up_weight.dim(1), frames * block.stride}, DType::F32);
  be.conv_transpose1d(window, block.up_weight, &block.up_bias, block.stride, block.stride, out);
  be.read_columns(window, frames, carry);
  return out;
}

Tensor ScalarDecoderStream::empty_audio() const { return backend_->alloc({batch_, 1, 0}, DType::F32); }

Tensor ScalarDecoderStream::push(const Tensor& latent) {
  if (finished_) throw InvalidArgument("ScalarDecoderStream::push: the stream is finished");
  if (latent.rank() != 3 || latent.dim(0) != batch_ || latent.dim(1) != decoder_->latent_channels())
    throw InvalidArgument("ScalarDecoderStream::push: latent " + shape_str(latent.shape()) + ", expected [" +
                          std::to_string(batch_) + ", " + std::to_string(decoder_->latent_channels()) + ", n]");
  Tensor rounded = backend_->alloc(latent.shape(), DType::F32);
  backend_->round_to_grid(latent, kLatentGridLevels, rounded);
  return run(rounded);
}

Tensor ScalarDecoderStream::finish() {
  if (finished_) throw InvalidArgument("ScalarDecoderStream::finish: the stream is already finished");
  finished_ = true;
  // The one-shot decode's right padding of the input conv: look_ahead zero frames.
  return run(backend_->alloc({batch_, decoder_->latent_channels(), decoder_->look_ahead_frames()}, DType::F32));
}

Tensor ScalarDecoderStream::run(const Tensor& rounded) {
  Backend& be = *backend_;
  if (rounded.dim(2) == 0) return empty_audio();
  auto carry = carries_.begin();
  Tensor h = causal_conv(decoder_->input_conv(), rounded, *carry++);
  if (drop_pending_ > 0) {
    const std::int64_t drop = std::min(drop_pending_, h.dim(2));
    drop_pending_ -= drop;
    if (drop == h.dim(2)) return empty_audio();
    Tensor kept = be.alloc({batch_, h.dim(1), h.dim(2) - drop}, DType::F32);
    be.read_columns(h, drop, kept);
    h = kept;
  }
  for (const UpsampleBlock& block : decoder_->blocks()) {
    // The drop above happens before any carry past the input conv has seen a frame, so every
    // later layer starts from the same zero history as the one-shot decode's causal padding.
    h = upsample(block, h, *carry++);
    for (const ResidualUnit& unit : block.units) {
      Tensor y = causal_conv(unit.conv1, h, *carry++);
      be.prelu(y, unit.alpha1, y);
      Tensor z = causal_conv(unit.conv2, y, *carry++);
      be.prelu(z, unit.alpha2, z);
      be.add(h, z, h);
    }
  }
  Tensor repeated = be.alloc({batch_, h.dim(1), h.dim(2) * decoder_->post_repeat()}, DType::F32);
  be.repeat_last(h, decoder_->post_repeat(), repeated);
  Tensor post = causal_conv(decoder_->post_conv(), repeated, *carry++);
  be.prelu(post, decoder_->post_alpha(), post);
  return causal_conv(decoder_->output_conv(), post, *carry++);
}

}  // namespace hs
