// The codec's flow matching (REFERENCE.md "The codec" 1–2): code frames → condition features
// (RVQ decode, cond_feature_emb, ×2 nearest in time), then an Euler solve with classifier-free
// guidance and an optional in-context prefix of latents. One function serves the offline window
// schedule (744 frames, 104-frame prefix) and a streaming decoder (any chunk, any prefix).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "engine/core/backend.h"
#include "engine/core/noise.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_weights.h"
#include "engine/model/codec/estimator.h"

namespace hs {

// The Euler schedule (reference values by default).
struct FlowSchedule {
  int steps = 10;                // t = 0, 1/steps, ... on [0, 1]
  float guidance_scale = 1.25f;  // v = v_uncond + scale · (v_cond − v_uncond)
};

// The songs' start noise as FlowMatcher::sample draws it, host F32 [songs · T, C]: song s's source
// skips a [1, T-P, C] draw (the fresh part of the reference's initial latent, which the solver
// never reads) and fills rows [s·T, (s+1)·T) with a [1, T, C] one. Songs with sources of their own
// draw in parallel, one source's draws stay in song order: the values are those of a serial loop.
Tensor draw_start_noise(std::span<NoiseSource* const> noises, std::int64_t frames, std::int64_t context,
                        std::int64_t channels);

class FlowMatcher {
 public:
  FlowMatcher(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config);

  std::int64_t latent_channels() const { return latent_channels_; }
  std::int64_t feature_dim() const { return feature_dim_; }
  const Estimator& estimator() const { return estimator_; }

  // Condition features [2N, dim] (25 Hz) for codes, host I32 [num_quantizers, N] (12.5 Hz).
  Tensor condition(const Tensor& codes) const;

  // Latents [T, C] for features [T, dim]. The first P frames are in-context: prefix [P, C] with
  // 0 < P < T, or an undefined tensor for none. Draws two tensors from `noise`, as the reference
  // does: [1, T-P, C] (the fresh part of its initial latent, which the solver never reads) and
  // [1, T, C] (the solver's start point).
  Tensor sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise,
                const FlowSchedule& schedule = {}) const;

  // The buffers of sample() for `songs` songs of T frames with P in-context frames each, and the
  // graph its solver is captured into on the first call (backends that capture): reuse one per
  // shape, and each call after the first is a few copies and one graph replay per Euler step.
  struct Workspace;
  std::unique_ptr<Workspace> make_workspace(std::int64_t frames, std::int64_t context,
                                            const FlowSchedule& schedule = {}, std::int64_t songs = 1) const;
  // sample() into `workspace` (made for features.dim(0) frames and prefix.dim(0) in-context
  // frames): the latents [T, C] it returns are the workspace's, overwritten by its next call.
  Tensor sample(const Tensor& features, const Tensor& prefix, NoiseSource& noise, Workspace& workspace) const;
  // sample() for several songs at once, one estimator call per Euler step over all of them: song s
  // has features[s], prefixes[s] (undefined: none; defined for every song or none) and draws from
  // noises[s], exactly as alone. Up to workspace.songs songs (the rows of the others are computed
  // and ignored). Returns the workspace's latents [songs · T, C]: song s in rows [s·T, (s+1)·T).
  Tensor sample(std::span<const Tensor> features, std::span<const Tensor> prefixes,
                std::span<NoiseSource* const> noises, Workspace& workspace) const;
  // Captures the workspace's graph ahead of its first sample() (nothing runs).
  void prepare(Workspace& workspace) const;

 private:
  // One Euler step at the flow time in ws.time on a workspace's buffers: the estimator on the
  // guidance batch, the guided velocity, x += dt · v. Enqueues ops only (no allocation, no host
  // data): captured once per workspace and replayed for every step.
  void step(Workspace& ws) const;

  Backend* backend_;
  std::int64_t latent_channels_;
  std::int64_t feature_dim_;
  std::vector<Tensor> codebooks_;  // [codebook_size, codebook_dim] per quantizer
  bool has_project_out_;           // present when codebook_dim != dim
  Weight project_out_;             // codebook_dim → dim
  Weight cond_feature_emb_;        // dim → dim
  Estimator estimator_;
};

struct FlowMatcher::Workspace {
  std::int64_t songs = 1;
  std::int64_t frames = 0;
  std::int64_t context = 0;
  FlowSchedule schedule;
  Tensor start;       // [n·T, C] the solver's start point (noise), n = songs
  Tensor x;           // [n·T, C] the latents being solved
  Tensor in_context;  // [n·T, C]: each song's prefix in its first P rows, zeros after
  Tensor start_head;  // [n·P, C]: the start point's in-context rows, song after song
  Tensor prefix;      // [n·P, C]: the prefixes, song after song
  Tensor reset;       // [n·P, C]: the in-context rows of x before a step
  Tensor features;    // [n·T, dim]
  Tensor input;       // [2n, T, in]: [x | in-context | features] per guidance row, n unconditional first
  Tensor velocity;    // [2n, T, C]
  std::vector<Tensor> times;  // F32 [2n] per Euler step
  Tensor time;                // F32 [2n]: the step being run's (a copy of its entry of times)
  std::unique_ptr<Estimator::Scratch> scratch;
  std::shared_ptr<OpGraph> graph;  // the captured step (null: not captured)
  bool capture_tried = false;
};

}  // namespace hs
