// One request's LM state (REFERENCE.md "One frame"): KV caches for its batch (2 rows with CFG:
// conditional, unconditional; 1 without), positions, the sampler's RNG state and every scratch
// buffer, all allocated at construction for the request's maximum length.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "engine/core/backend.h"
#include "engine/model/lm/mula_model.h"
#include "engine/model/lm/prompt_input.h"
#include "engine/model/lm/transformer.h"
#include "engine/text/prompt.h"

namespace hs {

// The 8 codebook tokens of one 80 ms frame.
using Frame = std::array<std::int32_t, kNumCodebooks>;

struct SessionOptions {
  SamplingParams sampling;       // cfg_scale != 1 needs a 2-row prompt, cfg_scale == 1 a 1-row one
  std::uint64_t seed = 0;        // the sampler's Philox key
  std::int64_t max_frames = 1;   // frames this session may produce (sizes the KV cache)
  // Frame 0 draws no id in [sampling.blocked_begin, first_frame_blocked_end) either (when larger
  // than sampling.blocked_end): it is kept whatever it holds, so it must not hold an EOS id.
  std::int32_t first_frame_blocked_end = 0;
  KvCache kv_cache = KvCache::Auto;  // the backbone's cache (the depth decoder's stays narrow)
};

// Per-step hooks for tests and control.
struct StepOptions {
  // Teacher forcing: after each codebook is sampled, use forced[k] instead (the sampler still runs).
  const Frame* forced = nullptr;
  // Receives the logits handed to the sampler for each codebook (after CFG): host F32 [8, V].
  Tensor* guided_logits = nullptr;
  // Checked between depth-decoder steps; when set the step stops early and returns nullopt.
  const std::atomic<bool>* cancel = nullptr;
};

// The prompt's batch (2 rows with CFG, 1 without) checked against the options, and the backbone
// positions a song needs (the prompt, then one per frame fed back) checked against max_seq_len;
// InvalidArgument naming what does not fit.
std::int64_t check_prompt(const Prompt& prompt, const SessionOptions& options);
std::int64_t backbone_capacity(const MulaModel& model, const Prompt& prompt, const SessionOptions& options);

class MulaSession {
 public:
  // Uploads the prompt and allocates everything. InvalidArgument when the prompt's batch does not
  // match cfg_scale, or the prompt plus max_frames exceed the backbone's max_seq_len.
  MulaSession(const MulaModel& model, const Prompt& prompt, const SessionOptions& options);

  // Computes the next frame: the first call runs the prompt, later ones feed back the previous
  // frame. Returns nullopt when cancelled mid-frame (the session cannot continue after that).
  std::optional<Frame> step(const StepOptions& options = {});

  std::int64_t frames_done() const { return frames_done_; }
  bool cfg() const { return batch_ == 2; }

 private:
  void prefill();
  void feed_back_frame();
  // Frames ≥ 1: feed back, backbone, every codebook (the part a backend may capture as a graph).
  bool next_frame(const StepOptions& options);
  // Samples codebook k from logits_ into frame_[k] (forcing and guided capture per options).
  void sample_codebook(std::int64_t k, const StepOptions& options);
  bool depth_decode(const StepOptions& options);
  void write_i32(Tensor& dst, const std::vector<std::int32_t>& values);

  const MulaModel& model_;
  Backend& backend_;
  SessionOptions options_;
  std::int64_t batch_, prompt_length_;
  std::int64_t frames_done_ = 0;
  bool broken_ = false;  // a step was cancelled or threw midway

  StackState backbone_, decoder_;
  PromptInput prompt_;
  Tensor step_tokens_, step_mask_, step_uncond_;  // [B, 9], [B, 9], [B]
  Tensor positions_, step_position_;              // I32 [P], [1]
  Tensor decoder_first_positions_;                // I32 [2] = {0, 1}
  std::array<Tensor, kNumCodebooks> decoder_positions_;  // I32 [1] = {k + 1} for k ≥ 1
  Tensor hidden_, hidden_out_;  // backbone residual stream and output [B·P, D]
  Tensor last_h_;               // [B, D]
  Tensor logits_;               // [B, V]
  Tensor embedding_;            // [1, D]
  Tensor dec_wide_;             // decoder input before projection [B·2, D]
  Tensor dec_x_, dec_out_;      // [B·2, Dd]
  Tensor dec_h_;                // [B, Dd]
  Tensor frame_;                // I32 [8]
  Tensor guided_;               // F32 [8, V]
  Tensor rng_;                  // I64 [2] = {seed, counter}
  // next_frame captured once (when the backend can) and replayed for every later frame that is
  // not teacher-forced (cancellation is then checked per frame); it always writes guided_.
  std::shared_ptr<OpGraph> frame_graph_;
  bool capture_tried_ = false;
};

}  // namespace hs
