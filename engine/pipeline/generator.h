// Generator: one request's prompt → a stream of frames (REFERENCE.md "Generation loop"). Frame 0
// comes from the prompt; then up to max_audio_length_ms / 80 more, each from the previous one; the
// stream ends before a frame holding a token ≥ audio_eos_id, at the length limit, or on cancel().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "engine/io/config.h"
#include "engine/model/lm/mula_batch.h"
#include "engine/model/lm/mula_model.h"
#include "engine/model/lm/mula_session.h"
#include "engine/text/prompt.h"

namespace hs {

// Audio per frame: the codec runs at 12.5 frames per second.
inline constexpr std::int64_t kFrameMs = 80;

struct GenerationRequest {
  Prompt prompt;                              // 2 rows when sampling.cfg_scale != 1, else 1
  std::int64_t max_audio_length_ms = 240000;  // the reference CLI's default
  SamplingParams sampling;                    // defaults as backend.h; the CLI uses topk 50, cfg 1.5
  std::uint64_t seed = 0;                     // same seed, same request → same frames
  // The codec's codebook size (0: unknown). The LM's audio vocabulary is larger (8197 against 8192
  // for the released models): ids from codebook_size up to audio_eos_id are never sampled, so every
  // frame decodes. The reference samples them and its codec then fails; ids ≥ audio_eos_id still
  // end the song as there, except in frame 0, which is always kept and so draws only codes.
  std::int64_t codebook_size = 0;
  KvCache kv_cache = KvCache::Auto;  // alone: the backbone's KV cache (on a FrameBatch its options decide)
};

enum class StopReason : std::uint8_t { Eos, Length, Cancelled };
std::string_view stop_reason_name(StopReason reason);  // "eos" | "length" | "cancelled"

// Frames a request may produce: 1 + max_audio_length_ms / 80 (frame 0, then one per loop step).
std::int64_t max_frames_for(std::int64_t max_audio_length_ms);

// The session options a Generator runs `request` with (its sampling, seed, and the ids blocked
// for `request.codebook_size`), for `max_frames` frames of an LM with `vocab` audio ids; teacher
// forcing (teacher_forcing.h) steps sessions of the same options. InvalidArgument for a negative
// codebook_size.
SessionOptions session_options(const GenerationRequest& request, const GenConfig& gen, std::int64_t max_frames,
                                std::int64_t vocab);

class FrameBatch;

class Generator {
 public:
  // Alone: allocates the session (KV caches for the whole request). On a FrameBatch: the song
  // takes a slot of the batch at its first frame and gets its later frames from
  // FrameBatch::step. InvalidArgument for a bad request.
  Generator(std::shared_ptr<const MulaModel> model, const GenConfig& gen, const GenerationRequest& request,
            FrameBatch* batch = nullptr);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // The next frame, or nullopt once the stream has ended (then stop_reason() says why). On a
  // FrameBatch, frames after the first are those FrameBatch::step delivered (InvalidArgument when
  // none was); the first frame joins the batch (InvalidArgument when it has no room) and runs the
  // prompt within the batch's prefill budget: while prompt positions are left, next() returns
  // nullopt with prefilling() true, and a later call goes on.
  std::optional<Frame> next();
  bool prefilling() const { return batch_ && slot_ >= 0 && frames_emitted_ == 0 && !first_ && !reason_; }
  // Pulls every frame into `sink` and returns why the stream ended.
  StopReason run(const std::function<void(const Frame&)>& sink);
  // Thread-safe: ends the stream between frames or between depth-decoder steps.
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }

  std::optional<StopReason> stop_reason() const { return reason_; }
  std::int64_t frames_emitted() const { return frames_emitted_; }
  std::int64_t max_frames() const { return max_frames_; }
  std::int64_t slot() const { return slot_; }  // on a FrameBatch: its slot once taken, else -1

 private:
  friend class FrameBatch;
  // Whether FrameBatch::step should step this song: in its batch, past frame 0, not ended.
  bool awaits_frame() const;
  std::optional<Frame> frame_from_session();
  void end(StopReason reason);  // sets reason_ and frees the batch slot

  std::shared_ptr<const MulaModel> model_;
  std::int32_t audio_eos_id_;
  std::int64_t max_frames_;
  Prompt prompt_;
  SessionOptions options_;
  std::optional<MulaSession> session_;  // alone
  FrameBatch* batch_ = nullptr;         // or on a batch: its slot, and the frame step() delivered
  std::int64_t slot_ = -1;
  std::optional<Frame> delivered_;
  std::optional<Frame> first_;  // on a batch: frame 0, once its prompt has run
  std::atomic<bool> cancel_{false};
  std::int64_t frames_emitted_ = 0;
  std::optional<StopReason> reason_;
};

// Songs that share one MulaBatch (many songs per step): Generators made on it take a slot at their
// first frame, and step() advances the listed ones in one batched pass. One thread drives a
// FrameBatch and its generators (the engine worker); the batch outlives them.
class FrameBatch {
 public:
  // prefill_budget: prompt positions (of each row) the songs' first next() calls may run between two
  // step() calls, shared in the order they call; 0: no limit (a prompt runs whole at once). It
  // bounds how long new songs' prompts delay the running ones' next step.
  FrameBatch(std::shared_ptr<const MulaModel> model, const BatchOptions& options, std::int64_t prefill_budget = 0);

  // One frame for each of `generators` that is waiting for one (made on this batch, past its first
  // frame, not ended): their next() then returns it.
  void step(std::span<Generator* const> generators);

  // Captures the batched step's graph for every batch size ahead of the first songs
  // (MulaBatch::prepare_steps).
  void prepare() { batch_.prepare_steps(); }

  const MulaBatch& batch() const { return batch_; }
  std::int64_t prefill_budget() const { return prefill_budget_; }

 private:
  friend class Generator;
  // Runs the prompt of the song in `slot` within what is left of this round's budget.
  std::optional<Frame> prefill(std::int64_t slot);

  std::shared_ptr<const MulaModel> model_;
  MulaBatch batch_;
  std::int64_t prefill_budget_, budget_left_;
};

}  // namespace hs
