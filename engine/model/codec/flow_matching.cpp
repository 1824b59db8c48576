#include "engine/model/codec/flow_matching.h"

#include <set>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/parallel.h"

namespace hs {
namespace {

constexpr std::int64_t kUpsample = 2;      // code frames (12.5 Hz) → latent frames (25 Hz)
constexpr float kSigmaMin = 1e-6f;         // in-context reset: (1 − (1 − σ)·t)·noise + t·context
constexpr std::int64_t kGuidanceBatch = 2;  // unconditional rows (features zeroed), then conditional ones

}  // namespace

Tensor draw_start_noise(std::span<NoiseSource* const> noises, std::int64_t frames, std::int64_t context,
                        std::int64_t channels) {
  const auto songs = static_cast<std::int64_t>(noises.size());
  Tensor start = Tensor::zeros({songs * frames, channels}, DType::F32);
  const auto draw = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t s = begin; s < end; ++s) {
      NoiseSource& source = *noises[static_cast<std::size_t>(s)];
      source.skip({1, frames - context, channels});
      Tensor rows = start.slice(s * frames, (s + 1) * frames).reshape({1, frames, channels});
      source.fill(rows);
    }
  };
  if (std::set<NoiseSource*>(noises.begin(), noises.end()).size() == noises.size()) parallel_for(songs, 1, draw);
  else draw(0, songs);
  return start;
}

FlowMatcher::FlowMatcher(Backend& backend, const CodecWeightLoader& w, const CodecConfig& c)
    : backend_(&backend),
      latent_channels_(c.out_channels),
      feature_dim_(c.dim),
      has_project_out_(w.contains("flow_matching.vq_embed.project_out.weight")),
      estimator_(backend, w, c) {
  if (c.in_channels != 2 * c.out_channels + c.dim)
    throw FormatError("codec config: in_channels " + std::to_string(c.in_channels) + " != 2 · out_channels " +
                      std::to_string(c.out_channels) + " + dim " + std::to_string(c.dim));
  if (!has_project_out_ && c.codebook_dim != c.dim)
    throw FormatError("codec checkpoint: missing 'flow_matching.vq_embed.project_out.weight' (codebook_dim " +
                      std::to_string(c.codebook_dim) + " != dim " + std::to_string(c.dim) + ")");
  for (std::int64_t q = 0; q < c.num_quantizers; ++q) {
    const std::string name = "flow_matching.vq_embed.layers." + std::to_string(q) + "._codebook.embed";
    codebooks_.push_back(w.device(name, {1, c.codebook_size, c.codebook_dim}).reshape({c.codebook_size, c.codebook_dim}));
  }
  if (has_project_out_) project_out_ = w.linear("flow_matching.vq_embed.project_out", c.codebook_dim, c.dim, true);
  cond_feature_emb_ = w.linear("flow_matching.cond_feature_emb", c.dim, c.dim, true);
}

Tensor FlowMatcher::condition(const Tensor& codes) const {
  Backend& be = *backend_;
  const auto quantizers = static_cast<std::int64_t>(codebooks_.size());
  if (codes.device() != Device::Cpu || codes.dtype() != DType::I32 || codes.rank() != 2 || codes.dim(0) != quantizers)
    throw InvalidArgument("FlowMatcher::condition: codes must be host I32 [" + std::to_string(quantizers) +
                          ", N], got " + shape_str(codes.shape()));
  const std::int64_t frames = codes.dim(1) * kUpsample, code_dim = codebooks_.front().dim(1);
  // Nearest-neighbour ×2 commutes with the per-frame RVQ and linears, so it is applied to the ids.
  Tensor sum = be.alloc({frames, code_dim}, DType::F32);
  Tensor part = be.alloc({frames, code_dim}, DType::F32);
  Tensor ids = Tensor::zeros({quantizers, frames}, DType::I32);
  for (std::int64_t q = 0; q < quantizers; ++q) {
    const std::int32_t* row = codes.data<std::int32_t>() + q * codes.dim(1);
    for (std::int64_t i = 0; i < frames; ++i) ids.data<std::int32_t>()[q * frames + i] = row[i / kUpsample];
  }
  const Tensor device_ids = be.upload(ids);  // one upload: one wait for the host copy, not one per quantizer
  for (std::int64_t q = 0; q < quantizers; ++q) {
    be.gather_rows(codebooks_[static_cast<std::size_t>(q)], device_ids.slice(q, q + 1).reshape({frames}), 0,
                   q == 0 ? sum : part);
    if (q > 0) be.add(sum, part, sum);
  }
  Tensor projected = sum;
  if (has_project_out_) {
    projected = be.alloc({frames, feature_dim_}, DType::F32);
    be.linear(sum, project_out_, projected);
  }
  Tensor features = be.alloc({frames, feature_dim_}, DType::F32);
  be.linear(projected, cond_feature_emb_, features);
  return features;
}

std::unique_ptr<FlowMatcher::Workspace> FlowMatcher::make_workspace(std::int64_t frames, std::int64_t context,
                                                                     const FlowSchedule& schedule,
                                                                     std::int64_t songs) const {
  Backend& be = *backend_;
  if (frames <= 0 || context < 0 || context >= frames)
    throw InvalidArgument("FlowMatcher::make_workspace: " + std::to_string(context) + " in-context frames of " +
                          std::to_string(frames) + " (need 0 <= P < T)");
  if (schedule.steps < 1) throw InvalidArgument("FlowMatcher: schedule.steps must be >= 1");
  if (songs < 1) throw InvalidArgument("FlowMatcher::make_workspace: songs " + std::to_string(songs) + " < 1");
  const std::int64_t channels = latent_channels_, batch = kGuidanceBatch * songs;
  auto ws = std::make_unique<Workspace>();
  ws->songs = songs;
  ws->frames = frames;
  ws->context = context;
  ws->schedule = schedule;
  ws->start = be.alloc({songs * frames, channels}, DType::F32);
  ws->x = be.alloc({songs * frames, channels}, DType::F32);
  ws->in_context = be.alloc({songs * frames, channels}, DType::F32);
  if (context > 0)
    for (Tensor* t : {&ws->start_head, &ws->prefix, &ws->reset}) *t = be.alloc({songs * context, channels}, DType::F32);
  ws->features = be.alloc({songs * frames, feature_dim_}, DType::F32);
  ws->input = be.alloc({batch, frames, estimator_.in_channels()}, DType::F32);
  ws->velocity = be.alloc({batch, frames, channels}, DType::F32);
  for (int step = 0; step < schedule.steps; ++step) {
    const float t = static_cast<float>(step) / static_cast<float>(schedule.steps);
    ws->times.push_back(be.upload(Tensor::from_f32({batch}, std::vector<float>(static_cast<std::size_t>(batch), t))));
  }
  ws->time = be.alloc({batch}, DType::F32);
  ws->scratch = estimator_.make_scratch(batch, frames);
  return ws;
}

Tensor FlowMatcher::sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise,
                           const FlowSchedule& schedule) const {
  auto ws = make_workspace(features.dim(0), prefix.defined() ? prefix.dim(0) : 0, schedule);
  return sample(features, prefix, noise, *ws);  // the latents keep their buffer alive
}

Tensor FlowMatcher::sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise, Workspace& ws) const {
  NoiseSource* const source = &noise;
  return sample({&features, 1}, {&prefix, 1}, {&source, 1}, ws).slice(0, features.dim(0));
}

Tensor FlowMatcher::sample(std::span<const Tensor> features, std::span<const Tensor> prefixes,
                           std::span<NoiseSource* const> noises, Workspace& ws) const {
  Backend& be = *backend_;
  const std::int64_t frames = ws.frames, context = ws.context, channels = latent_channels_;
  const auto songs = static_cast<std::int64_t>(features.size());
  if (songs < 1 || songs > ws.songs || prefixes.size() != features.size() || noises.size() != features.size())
    throw InvalidArgument("FlowMatcher::sample: " + std::to_string(songs) + " songs' features, " +
                          std::to_string(prefixes.size()) + " prefixes and " + std::to_string(noises.size()) +
                          " noise sources for a workspace of " + std::to_string(ws.songs) + " songs");
  for (std::int64_t s = 0; s < songs; ++s) {
    const Tensor& f = features[static_cast<std::size_t>(s)];
    const Tensor& prefix = prefixes[static_cast<std::size_t>(s)];
    if (f.shape() != Shape{f.dim(0), feature_dim_})
      throw InvalidArgument("FlowMatcher::sample: features " + shape_str(f.shape()) + ", expected [T, " +
                            std::to_string(feature_dim_) + "]");
    const std::int64_t p = prefix.defined() ? prefix.dim(0) : 0;
    if (prefix.defined() && (prefix.shape() != Shape{p, channels} || p <= 0 || p >= f.dim(0)))
      throw InvalidArgument("FlowMatcher::sample: prefix " + shape_str(prefix.shape()) + " must be [P, " +
                            std::to_string(channels) + "] with 0 < P < " + std::to_string(f.dim(0)));
    if (f.dim(0) != frames || p != context)
      throw InvalidArgument("FlowMatcher::sample: a workspace for " + std::to_string(frames) + " frames with " +
                            std::to_string(context) + " in context used for " + std::to_string(f.dim(0)) +
                            " with " + std::to_string(p));
  }
  // Rows [begin, end) of song s in a [n·T, ·] buffer, or of its in-context part in a [n·P, ·] one.
  const auto song_rows = [&](const Tensor& t, std::int64_t s, std::int64_t begin, std::int64_t end) {
    return t.slice(s * frames + begin, s * frames + end);
  };
  const auto head_rows = [&](const Tensor& t, std::int64_t s) { return t.slice(s * context, (s + 1) * context); };
  const Tensor start = draw_start_noise(noises, frames, context, channels);
  Tensor start_rows = ws.start.slice(0, songs * frames);
  be.copy(be.upload(start), start_rows);
  std::vector<Tensor> from, to;
  for (std::int64_t s = 0; s < songs; ++s) {
    from.push_back(features[static_cast<std::size_t>(s)]);
    to.push_back(song_rows(ws.features, s, 0, frames));
    if (context == 0) continue;
    for (Tensor dst : {head_rows(ws.prefix, s), song_rows(ws.in_context, s, 0, context)}) {
      from.push_back(prefixes[static_cast<std::size_t>(s)]);
      to.push_back(dst);
    }
    from.push_back(song_rows(ws.start, s, 0, context));
    to.push_back(head_rows(ws.start_head, s));
  }
  be.copy_many(from, to);
  prepare(ws);

  // Euler from the noise; the in-context rows are reset before every step and copied back at the
  // end. The step-dependent parts (the reset's weights, the flow time) run outside the step graph.
  std::vector<Tensor> reset_rows, x_heads;
  Tensor start_head, prefix, reset;  // the songs' rows of the workspace's in-context buffers
  if (context > 0) {
    for (std::int64_t s = 0; s < songs; ++s) {
      reset_rows.push_back(head_rows(ws.reset, s));
      x_heads.push_back(song_rows(ws.x, s, 0, context));
    }
    start_head = ws.start_head.slice(0, songs * context);
    prefix = ws.prefix.slice(0, songs * context);
    reset = ws.reset.slice(0, songs * context);
  }
  be.copy(ws.start, ws.x);
  // Estimator input rows: [x | in-context | features], features zeroed in the unconditional rows.
  const std::int64_t in = estimator_.in_channels();
  Tensor uncond_rows = ws.input.slice(0, ws.songs).reshape({ws.songs * frames, in});
  Tensor cond_rows = ws.input.slice(ws.songs, 2 * ws.songs).reshape({ws.songs * frames, in});
  for (Tensor* rows : {&uncond_rows, &cond_rows}) be.write_columns(ws.in_context, *rows, channels);
  be.write_columns(ws.features, cond_rows, 2 * channels);
  const int steps = ws.schedule.steps;
  for (int i = 0; i < steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps);
    if (context > 0) {
      be.axpby(1.0f - (1.0f - kSigmaMin) * t, start_head, t, prefix, reset);
      be.copy_many(reset_rows, x_heads);
    }
    be.copy(ws.times[static_cast<std::size_t>(i)], ws.time);
    if (ws.graph) be.replay(*ws.graph);
    else step(ws);
  }
  if (context > 0) {
    std::vector<Tensor> prefix_rows;
    for (std::int64_t s = 0; s < songs; ++s) prefix_rows.push_back(head_rows(ws.prefix, s));
    be.copy_many(prefix_rows, x_heads);
  }
  return ws.x;
}

void FlowMatcher::prepare(Workspace& ws) const {
  if (ws.capture_tried) return;
  ws.capture_tried = true;
  ws.graph = backend_->capture([&] { step(ws); });
}

void FlowMatcher::step(Workspace& ws) const {
  Backend& be = *backend_;
  const std::int64_t rows = ws.songs * ws.frames, channels = latent_channels_, in = estimator_.in_channels();
  Tensor uncond_rows = ws.input.slice(0, ws.songs).reshape({rows, in});
  Tensor cond_rows = ws.input.slice(ws.songs, 2 * ws.songs).reshape({rows, in});
  Tensor v_uncond = ws.velocity.slice(0, ws.songs).reshape({rows, channels});
  Tensor v_cond = ws.velocity.slice(ws.songs, 2 * ws.songs).reshape({rows, channels});
  const float dt = 1.0f / static_cast<float>(ws.schedule.steps);
  const float g = ws.schedule.guidance_scale;
  for (Tensor* r : {&uncond_rows, &cond_rows}) be.write_columns(ws.x, *r, 0);
  estimator_.forward(ws.input, ws.time, *ws.scratch, ws.velocity);
  be.axpby(1.0f - g, v_uncond, g, v_cond, v_uncond);
  be.axpby(1.0f, ws.x, dt, v_uncond, ws.x);
}

}  // namespace hs
