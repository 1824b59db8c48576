#include "engine/model/codec/scalar_decoder_stream.h"

#include <algorithm>

#include "engine/core/error.h"

namespace hs {
namespace {

// Largest activations (in elements, per batch row) of a chunk of `frames` input frames: inside the
// upsampling blocks (the residual stream h), and anywhere (conv windows, the 48 kHz post stage).
struct ActivationSizes {
  std::int64_t block = 0;
  std::int64_t any = 0;
};

ActivationSizes activation_sizes(const ScalarDecoder& d, std::int64_t frames) {
  ActivationSizes s;
  auto see = [&](std::int64_t channels, std::int64_t length, bool in_block) {
    s.any = std::max(s.any, channels * length);
    if (in_block) s.block = std::max(s.block, channels * length);
  };
  std::int64_t t = frames;
  see(d.input_conv().weight.dim(1), t + d.input_conv().span(), false);
  see(d.input_conv().weight.dim(0), t, true);
  for (const UpsampleBlock& block : d.blocks()) {
    see(block.up_weight.dim(0), t + 1, false);
    t *= block.stride;
    for (const ResidualUnit& unit : block.units) see(unit.conv1.weight.dim(1), t + unit.conv1.span(), true);
  }
  t *= d.post_repeat();
  see(d.post_conv().weight.dim(1), t + d.post_conv().span(), false);
  return s;
}

// A [shape] view on the front of a flat buffer.
Tensor carve(const Tensor& flat, const Shape& shape) { return flat.slice(0, shape_numel(shape)).reshape(shape); }

}  // namespace

// Flat buffers the chunk activations are carved from, for chunks of up to `frames` input frames
// over up to `rows` batch rows.
struct ScalarDecoderStream::Buffers {
  std::int64_t frames = 0;
  std::int64_t rows = 0;
  Tensor input, rounded;  // the latents as pushed, and on the grid
  Tensor a, b;            // the residual stream, ping-pong between blocks
  Tensor window, y, z;    // conv windows (carry | input), unit activations, post stage
  Tensor audio;
};

struct ScalarDecoderStream::Plan {
  std::int64_t frames = 0;  // input latent frames
  std::int64_t drop = 0;    // input-conv outputs dropped (look-ahead still owed)
  std::int64_t rows = 0;    // batch rows computed
  std::shared_ptr<OpGraph> graph;
  bool capture_tried = false;
};

ScalarDecoderStream::~ScalarDecoderStream() = default;

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
    for (const ResidualUnit& unit : block.units) add_carry(unit.conv1.weight.dim(1), unit.conv1.span());
  }
  add_carry(decoder.post_conv().weight.dim(1), decoder.post_conv().span());
  add_carry(decoder.output_conv().weight.dim(1), decoder.output_conv().span());
}

Tensor ScalarDecoderStream::empty_audio(std::int64_t rows) const { return backend_->alloc({rows, 1, 0}, DType::F32); }

Tensor ScalarDecoderStream::push(const Tensor& latent) {
  if (finished_) throw InvalidArgument("ScalarDecoderStream::push: the stream is finished");
  if (latent.rank() != 3 || latent.dim(0) != batch_ || latent.dim(1) != decoder_->latent_channels())
    throw InvalidArgument("ScalarDecoderStream::push: latent " + shape_str(latent.shape()) + ", expected [" +
                          std::to_string(batch_) + ", " + std::to_string(decoder_->latent_channels()) + ", n]");
  return run(latent, batch_);
}

Tensor ScalarDecoderStream::push_many(std::span<ScalarDecoderStream* const> streams, const Tensor& latent,
                                      std::int64_t rows) {
  const auto k = static_cast<std::int64_t>(streams.size());
  if (k < 1) throw InvalidArgument("ScalarDecoderStream::push_many: no streams");
  const ScalarDecoderStream& first = *streams.front();
  const std::int64_t b = first.batch_, frames = latent.rank() == 3 ? latent.dim(2) : -1;
  if (latent.rank() != 3 || latent.dim(0) != b * k || latent.dim(1) != decoder_->latent_channels() || b * k > rows ||
      rows > batch_)
    throw InvalidArgument("ScalarDecoderStream::push_many: latent " + shape_str(latent.shape()) + " for " +
                          std::to_string(k) + " streams of batch " + std::to_string(b) + ", expected [" +
                          std::to_string(b * k) + ", " + std::to_string(decoder_->latent_channels()) + ", n] within " +
                          std::to_string(rows) + " rows of this stream's batch " + std::to_string(batch_));
  for (const ScalarDecoderStream* s : streams)
    if (s->decoder_ != decoder_ || s->batch_ != b || s->finished_ || s->drop_pending_ != first.drop_pending_)
      throw InvalidArgument(
          "ScalarDecoderStream::push_many: the streams must share the decoder and batch, be unfinished and owe "
          "the same look-ahead");
  if (frames <= first.drop_pending_) {
    // Too short to produce audio: each stream's own push (it only moves the input conv's carry).
    for (std::int64_t s = 0; s < k; ++s) streams[static_cast<std::size_t>(s)]->push(latent.slice(b * s, b * (s + 1)));
    return backend_->alloc({b * k, 1, 0}, DType::F32);
  }
  std::vector<Tensor> theirs, ours;
  for (std::size_t c = 0; c < carries_.size(); ++c)
    for (std::int64_t s = 0; s < k; ++s) {
      theirs.push_back(streams[static_cast<std::size_t>(s)]->carries_[c]);
      ours.push_back(carries_[c].slice(b * s, b * (s + 1)));
    }
  backend_->copy_many(theirs, ours);
  drop_pending_ = first.drop_pending_;
  finished_ = false;
  const Tensor audio = run(latent, rows);
  backend_->copy_many(ours, theirs);
  for (ScalarDecoderStream* s : streams) s->drop_pending_ = drop_pending_;
  return audio.slice(0, b * k);
}

Tensor ScalarDecoderStream::finish() {
  if (finished_) throw InvalidArgument("ScalarDecoderStream::finish: the stream is already finished");
  finished_ = true;
  // The one-shot decode's right padding of the input conv: look_ahead zero frames.
  return run(backend_->alloc({batch_, decoder_->latent_channels(), decoder_->look_ahead_frames()}, DType::F32), batch_);
}

void ScalarDecoderStream::reserve(std::int64_t frames, std::int64_t rows) {
  Backend& be = *backend_;
  if (!buffers_ || buffers_->frames < frames || buffers_->rows < rows) {
    // Larger chunks or more rows than before: new buffers for the most of each seen, and the
    // graphs captured on the old ones are void.
    if (buffers_) frames = std::max(frames, buffers_->frames), rows = std::max(rows, buffers_->rows);
    plans_.clear();
    buffers_.reset();
    const ActivationSizes sizes = activation_sizes(*decoder_, frames);
    auto flat = [&](std::int64_t elements) { return be.alloc({rows * elements}, DType::F32); };
    buffers_ = std::make_unique<Buffers>();
    buffers_->frames = frames;
    buffers_->rows = rows;
    buffers_->input = flat(decoder_->latent_channels() * frames);
    buffers_->rounded = flat(decoder_->latent_channels() * frames);
    buffers_->a = flat(sizes.block);
    buffers_->b = flat(sizes.block);
    for (Tensor* t : {&buffers_->window, &buffers_->y, &buffers_->z}) *t = flat(sizes.any);
    buffers_->audio = flat(frames * decoder_->samples_per_frame());
  }
}

ScalarDecoderStream::Plan& ScalarDecoderStream::plan_for(std::int64_t frames, std::int64_t drop, std::int64_t rows) {
  reserve(frames, rows);
  auto& plan = plans_[{frames, drop, rows}];
  if (!plan) {
    plan = std::make_unique<Plan>(Plan{frames, drop, rows, nullptr, false});
    ++plans_made_;
  }
  return *plan;
}

Tensor ScalarDecoderStream::run(const Tensor& latent, std::int64_t rows) {
  Backend& be = *backend_;
  const std::int64_t frames = latent.dim(2);
  const std::int64_t drop = std::min(drop_pending_, frames);
  drop_pending_ -= drop;
  if (frames == drop) {
    // Too short to produce audio: only the input conv's carry moves on.
    if (frames > 0) {
      const DecoderConv& in = decoder_->input_conv();
      Tensor rounded = be.alloc(latent.shape(), DType::F32);
      be.round_to_grid(latent, kLatentGridLevels, rounded);
      Tensor window = be.alloc({rows, latent.dim(1), in.span() + frames}, DType::F32);
      Tensor carry = carries_.front().slice(0, rows);
      be.write_columns(carry, window, 0);
      be.write_columns(rounded, window, in.span());
      be.read_columns(window, frames, carry);
    }
    return empty_audio(rows);
  }
  Plan& plan = plan_for(frames, drop, rows);
  // A push_many fills the first rows; the rest compute on what they held and are not read.
  Tensor input = carve(buffers_->input, {rows, latent.dim(1), frames}).slice(0, latent.dim(0));
  be.copy(latent, input);
  capture_once(plan);
  if (plan.graph) {
    be.replay(*plan.graph);
  } else {
    enqueue(plan);
  }
  return carve(buffers_->audio, {rows, 1, (frames - drop) * decoder_->samples_per_frame()});
}

void ScalarDecoderStream::capture_once(Plan& plan) {
  if (plan.capture_tried) return;
  plan.capture_tried = true;
  plan.graph = backend_->capture([&] { enqueue(plan); });
}

void ScalarDecoderStream::prepare(std::int64_t first, std::int64_t later, std::int64_t rows) {
  if (rows == 0) rows = batch_;
  reserve(std::max(first, later), batch_);
  const std::int64_t drop = std::min(drop_pending_, first);
  if (first > drop) capture_once(plan_for(first, drop, rows));
  if (later > 0) capture_once(plan_for(later, 0, rows));
}

void ScalarDecoderStream::enqueue(Plan& plan) {
  Backend& be = *backend_;
  Buffers& buf = *buffers_;
  const std::int64_t frames = plan.frames, rows = plan.rows;
  auto carry = carries_.begin();
  // out = conv(x over [carried frames | x]) (+ PReLU when alpha); the carry keeps x's last frames.
  auto causal_conv = [&](const DecoderConv& conv, const Tensor& x, const Tensor* alpha, Tensor& out) {
    Tensor state = (carry++)->slice(0, rows);
    const std::int64_t length = x.dim(2), span = conv.span();
    Tensor window = x;
    if (span > 0) {
      window = carve(buf.window, {rows, x.dim(1), span + length});
      be.write_columns(state, window, 0);
      be.write_columns(x, window, span);
    }
    const Conv1dParams params{.dilation = conv.dilation};
    if (alpha) {
      be.conv1d_prelu(window, conv.weight, &conv.bias, *alpha, params, out);
    } else {
      be.conv1d(window, conv.weight, &conv.bias, params, out);
    }
    if (span > 0) be.read_columns(window, length, state);
  };

  const Shape latent_shape{rows, decoder_->latent_channels(), frames};
  Tensor rounded = carve(buf.rounded, latent_shape);
  be.round_to_grid(carve(buf.input, latent_shape), kLatentGridLevels, rounded);
  const DecoderConv& in = decoder_->input_conv();
  Tensor h = carve(buf.a, {rows, in.weight.dim(0), frames});
  causal_conv(in, rounded, nullptr, h);
  if (plan.drop > 0) {
    Tensor kept = carve(buf.b, {rows, h.dim(1), frames - plan.drop});
    be.read_columns(h, plan.drop, kept);
    h = kept;
  }
  for (const UpsampleBlock& block : decoder_->blocks()) {
    // The drop above happens before any carry past the input conv has seen a frame, so every
    // later layer starts from the same zero history as the one-shot decode's causal padding.
    const std::int64_t length = h.dim(2);
    Tensor state = (carry++)->slice(0, rows);
    Tensor window = carve(buf.window, {rows, h.dim(1), length + 1});
    be.write_columns(state, window, 0);
    be.write_columns(h, window, 1);
    // Output of the carried frame's slot is the previous chunk's; keep the next length·stride.
    const bool in_a = h.raw() == buf.a.raw();
    Tensor x = carve(in_a ? buf.b : buf.a, {rows, block.up_weight.dim(1), length * block.stride});
    be.conv_transpose1d(window, block.up_weight, &block.up_bias, block.stride, block.stride, x);
    be.read_columns(window, length, state);
    Tensor y = carve(buf.y, x.shape());
    Tensor z = carve(buf.z, x.shape());
    for (const ResidualUnit& unit : block.units) {
      causal_conv(unit.conv1, x, &unit.alpha1, y);
      be.conv1d_prelu(y, unit.conv2.weight, &unit.conv2.bias, unit.alpha2, {}, z);
      be.add(x, z, x);
    }
    h = x;
  }
  Tensor repeated = carve(buf.y, {rows, h.dim(1), h.dim(2) * decoder_->post_repeat()});
  be.repeat_last(h, decoder_->post_repeat(), repeated);
  Tensor post = carve(buf.z, repeated.shape());
  causal_conv(decoder_->post_conv(), repeated, &decoder_->post_alpha(), post);
  Tensor audio = carve(buf.audio, {rows, 1, repeated.dim(2)});
  causal_conv(decoder_->output_conv(), post, nullptr, audio);
}

}  // namespace hs
