#include "engine/model/codec/flow_matching.h"

#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kUpsample = 2;      // code frames (12.5 Hz) → latent frames (25 Hz)
constexpr float kSigmaMin = 1e-6f;         // in-context reset: (1 − (1 − σ)·t)·noise + t·context
constexpr std::int64_t kGuidanceBatch = 2;  // row 0 unconditional (features zeroed), row 1 conditional

}  // namespace

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
  Tensor ids = Tensor::zeros({frames}, DType::I32);
  for (std::int64_t q = 0; q < quantizers; ++q) {
    const std::int32_t* row = codes.data<std::int32_t>() + q * codes.dim(1);
    for (std::int64_t i = 0; i < frames; ++i) ids.data<std::int32_t>()[i] = row[i / kUpsample];
    be.gather_rows(codebooks_[static_cast<std::size_t>(q)], be.upload(ids), 0, q == 0 ? sum : part);
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
                                                                     const FlowSchedule& schedule) const {
  Backend& be = *backend_;
  if (frames <= 0 || context < 0 || context >= frames)
    throw InvalidArgument("FlowMatcher::make_workspace: " + std::to_string(context) + " in-context frames of " +
                          std::to_string(frames) + " (need 0 <= P < T)");
  if (schedule.steps < 1) throw InvalidArgument("FlowMatcher: schedule.steps must be >= 1");
  const std::int64_t channels = latent_channels_;
  auto ws = std::make_unique<Workspace>();
  ws->frames = frames;
  ws->context = context;
  ws->schedule = schedule;
  ws->start = be.alloc({frames, channels}, DType::F32);
  ws->x = be.alloc({frames, channels}, DType::F32);
  ws->in_context = be.alloc({frames, channels}, DType::F32);
  ws->features = be.alloc({frames, feature_dim_}, DType::F32);
  ws->input = be.alloc({kGuidanceBatch, frames, estimator_.in_channels()}, DType::F32);
  ws->velocity = be.alloc({kGuidanceBatch, frames, channels}, DType::F32);
  for (int step = 0; step < schedule.steps; ++step) {
    const float t = static_cast<float>(step) / static_cast<float>(schedule.steps);
    ws->times.push_back(be.upload(Tensor::from_f32({kGuidanceBatch}, {t, t})));
  }
  ws->time = be.alloc({kGuidanceBatch}, DType::F32);
  ws->scratch = estimator_.make_scratch(kGuidanceBatch, frames);
  return ws;
}

Tensor FlowMatcher::sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise,
                           const FlowSchedule& schedule) const {
  auto ws = make_workspace(features.dim(0), prefix.defined() ? prefix.dim(0) : 0, schedule);
  return sample(features, prefix, noise, *ws);  // the latents keep their buffer alive
}

Tensor FlowMatcher::sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise, Workspace& ws) const {
  Backend& be = *backend_;
  const std::int64_t frames = features.dim(0), channels = latent_channels_;
  const std::int64_t context = prefix.defined() ? prefix.dim(0) : 0;
  if (features.shape() != Shape{frames, feature_dim_})
    throw InvalidArgument("FlowMatcher::sample: features " + shape_str(features.shape()) + ", expected [T, " +
                          std::to_string(feature_dim_) + "]");
  if (prefix.defined() && (prefix.shape() != Shape{context, channels} || context <= 0 || context >= frames))
    throw InvalidArgument("FlowMatcher::sample: prefix " + shape_str(prefix.shape()) + " must be [P, " +
                          std::to_string(channels) + "] with 0 < P < " + std::to_string(frames));
  if (ws.frames != frames || ws.context != context)
    throw InvalidArgument("FlowMatcher::sample: a workspace for " + std::to_string(ws.frames) + " frames with " +
                          std::to_string(ws.context) + " in context used for " + std::to_string(frames) + " with " +
                          std::to_string(context));

  Tensor unused_fresh = Tensor::zeros({1, frames - context, channels}, DType::F32);
  noise.fill(unused_fresh);  // keeps replayed draws aligned with the reference
  Tensor start = Tensor::zeros({1, frames, channels}, DType::F32);
  noise.fill(start);
  be.copy(be.upload(start).reshape({frames, channels}), ws.start);
  be.copy(features, ws.features);
  if (context > 0) {
    Tensor head = ws.in_context.slice(0, context);
    be.copy(prefix, head);
  }
  prepare(ws);

  // Euler from the noise; the in-context rows are reset before every step and copied back at the
  // end. The step-dependent parts (the reset's weights, the flow time) run outside the step graph.
  const Tensor start_context = ws.start.slice(0, context);
  const Tensor in_context_head = ws.in_context.slice(0, context);
  Tensor x_context = ws.x.slice(0, context);
  be.copy(ws.start, ws.x);
  // Estimator input rows: [x | in-context | features], features zeroed in the unconditional row.
  const std::int64_t in = estimator_.in_channels();
  Tensor uncond_row = ws.input.slice(0, 1).reshape({frames, in});
  Tensor cond_row = ws.input.slice(1, 2).reshape({frames, in});
  for (Tensor* row : {&uncond_row, &cond_row}) be.write_columns(ws.in_context, *row, channels);
  be.write_columns(ws.features, cond_row, 2 * channels);
  const int steps = ws.schedule.steps;
  for (int i = 0; i < steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps);
    if (context > 0) be.axpby(1.0f - (1.0f - kSigmaMin) * t, start_context, t, in_context_head, x_context);
    be.copy(ws.times[static_cast<std::size_t>(i)], ws.time);
    if (ws.graph) be.replay(*ws.graph);
    else step(ws);
  }
  if (context > 0) be.copy(in_context_head, x_context);
  return ws.x;
}

void FlowMatcher::prepare(Workspace& ws) const {
  if (ws.capture_tried) return;
  ws.capture_tried = true;
  ws.graph = backend_->capture([&] { step(ws); });
}

void FlowMatcher::step(Workspace& ws) const {
  Backend& be = *backend_;
  const std::int64_t frames = ws.frames, channels = latent_channels_, in = estimator_.in_channels();
  Tensor uncond_row = ws.input.slice(0, 1).reshape({frames, in});
  Tensor cond_row = ws.input.slice(1, 2).reshape({frames, in});
  Tensor v_uncond = ws.velocity.slice(0, 1).reshape({frames, channels});
  Tensor v_cond = ws.velocity.slice(1, 2).reshape({frames, channels});
  const float dt = 1.0f / static_cast<float>(ws.schedule.steps);
  const float g = ws.schedule.guidance_scale;
  for (Tensor* row : {&uncond_row, &cond_row}) be.write_columns(ws.x, *row, 0);
  estimator_.forward(ws.input, ws.time, *ws.scratch, ws.velocity);
  be.axpby(1.0f - g, v_uncond, g, v_cond, v_uncond);
  be.axpby(1.0f, ws.x, dt, v_uncond, ws.x);
}

}  // namespace hs
