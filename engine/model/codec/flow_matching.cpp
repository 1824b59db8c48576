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

Tensor FlowMatcher::sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise,
                           const FlowSchedule& schedule) const {
  Backend& be = *backend_;
  const std::int64_t frames = features.dim(0), channels = latent_channels_;
  const std::int64_t context = prefix.defined() ? prefix.dim(0) : 0;
  if (features.shape() != Shape{frames, feature_dim_})
    throw InvalidArgument("FlowMatcher::sample: features " + shape_str(features.shape()) + ", expected [T, " +
                          std::to_string(feature_dim_) + "]");
  if (prefix.defined() && (prefix.shape() != Shape{context, channels} || context <= 0 || context >= frames))
    throw InvalidArgument("FlowMatcher::sample: prefix " + shape_str(prefix.shape()) + " must be [P, " +
                          std::to_string(channels) + "] with 0 < P < " + std::to_string(frames));
  if (schedule.steps < 1) throw InvalidArgument("FlowMatcher::sample: schedule.steps must be >= 1");

  Tensor unused_fresh = Tensor::zeros({1, frames - context, channels}, DType::F32);
  noise.fill(unused_fresh);  // keeps replayed draws aligned with the reference
  Tensor start = Tensor::zeros({1, frames, channels}, DType::F32);
  noise.fill(start);

  Tensor x = be.upload(start).reshape({frames, channels});
  Tensor x_context = x.slice(0, context);
  const Tensor start_context = be.upload(start.reshape({frames, channels}).slice(0, context));
  Tensor in_context = be.alloc({frames, channels}, DType::F32);
  Tensor in_context_head = in_context.slice(0, context);
  if (context > 0) be.copy(prefix, in_context_head);

  // Estimator input rows: [x | in-context | features], features zeroed in the unconditional row.
  const std::int64_t in = estimator_.in_channels();
  Tensor input = be.alloc({kGuidanceBatch, frames, in}, DType::F32);
  Tensor uncond_row = input.slice(0, 1).reshape({frames, in});
  Tensor cond_row = input.slice(1, 2).reshape({frames, in});
  for (Tensor* row : {&uncond_row, &cond_row}) be.write_columns(in_context, *row, channels);
  be.write_columns(features, cond_row, 2 * channels);

  auto scratch = estimator_.make_scratch(kGuidanceBatch, frames);
  Tensor velocity = be.alloc({kGuidanceBatch, frames, channels}, DType::F32);
  Tensor v_uncond = velocity.slice(0, 1).reshape({frames, channels});
  Tensor v_cond = velocity.slice(1, 2).reshape({frames, channels});
  const float dt = 1.0f / static_cast<float>(schedule.steps);
  const float g = schedule.guidance_scale;
  for (int step = 0; step < schedule.steps; ++step) {
    const float t = static_cast<float>(step) / static_cast<float>(schedule.steps);
    if (context > 0) be.axpby(1.0f - (1.0f - kSigmaMin) * t, start_context, t, in_context_head, x_context);
    for (Tensor* row : {&uncond_row, &cond_row}) be.write_columns(x, *row, 0);
    const Tensor times = be.upload(Tensor::from_f32({kGuidanceBatch}, {t, t}));
    estimator_.forward(input, times, *scratch, velocity);
    be.axpby(1.0f - g, v_uncond, g, v_cond, v_uncond);
    be.axpby(1.0f, x, dt, v_uncond, x);
  }
  if (context > 0) be.copy(in_context_head, x_context);
  return x;
}

}  // namespace hs
