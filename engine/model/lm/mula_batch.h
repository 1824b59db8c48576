// Many songs stepped together (issue 12; DESIGN.md "batch scheduler"). A fixed array of slots:
// slot s owns KV rows 2s (conditional) and 2s + 1 (its unconditional twin, unused without CFG) of
// one paged KV pool, whose blocks a song takes as it grows and returns when it leaves. join() runs
// a song's prompt and first frame on its own rows; step() advances every song one frame in one
// batched pass — the backbone over the rows in use (rounded up to a bucket of 2, 4, 8, … rows, one
// captured graph per bucket where the backend captures), each row at its own position through its
// own blocks, the depth decoder over the same rows, every song sampled with its own parameters and
// RNG. A song's frames equal a MulaSession's for the same prompt and options: exactly on the CPU
// backend (a row's linear result does not depend on the other rows, engine/cpu/cpu_gemm.h).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/model/lm/mula_session.h"

namespace hs {

struct BatchOptions {
  std::int64_t slots = 4;        // songs at once
  std::int64_t block_size = 16;  // positions per KV block
  std::int64_t kv_blocks = 0;    // blocks in the pool; 0: every slot's two rows at the backbone's max_seq_len
  KvCache kv_cache = KvCache::Auto;  // the backbone's pool (the depth decoder's 8 positions stay narrow)
};

class MulaBatch {
 public:
  MulaBatch(const MulaModel& model, const BatchOptions& options);

  // Device bytes of one KV block of `block_size` positions (keys and values of every backbone layer).
  static std::int64_t block_bytes(const MulaModel& model, std::int64_t block_size, KvCache kv);

  // Starts a song in the lowest free slot: runs its prompt and its first frame (into `first`) and
  // returns the slot. The song reserves the blocks of its whole length (prompt + max_frames) and
  // takes them as it grows, so a joined song never runs out. InvalidArgument when no slot is free,
  // the prompt and frames do not fit (check_prompt, backbone_capacity) or the pool's unreserved
  // blocks are too few.
  std::int64_t join(const Prompt& prompt, const SessionOptions& options, Frame& first);
  // join() in parts, so that a long prompt (or many) need not hold up the other songs' steps:
  // begin() takes the slot and embeds the prompt (the same checks as join), then each prefill() runs
  // up to `max_positions` more of its positions (every row of the song; ≤ 0: all that are left) and,
  // once the whole prompt has run, samples the first frame and returns it. A song's results do not
  // depend on how its prompt was cut (exactly on the CPU backend). step() skips a song until then.
  std::int64_t begin(const Prompt& prompt, const SessionOptions& options);
  std::optional<Frame> prefill(std::int64_t slot, std::int64_t max_positions = 0);
  std::int64_t prefill_left(std::int64_t slot) const;  // prompt positions not run yet

  // One frame for every song in `slots` (every song when omitted) past its prompt (join, or the
  // prefill() that finished it) that has frames left: (slot,
  // frame) in slot order; the others keep their state. InvalidArgument naming the slot when it
  // holds no song or the pool has no block for its next position.
  std::vector<std::pair<std::int64_t, Frame>> step(std::span<const std::int64_t> slots);
  std::vector<std::pair<std::int64_t, Frame>> step();

  // Ends the song in `slot`: its blocks go back to the pool, the slot to the next join.
  void leave(std::int64_t slot);

  // Captures, ahead of the first songs, step()'s graph for every bucket of rows (backends that
  // capture; nothing runs), so a batch growing through them does not capture as it steps.
  void prepare_steps();
  // Buckets whose graph has been captured (or tried, on backends that do not capture) so far.
  std::int64_t step_shapes() const { return static_cast<std::int64_t>(graphs_.size()); }

  std::int64_t songs() const;
  std::int64_t slots() const { return options_.slots; }
  std::int64_t free_blocks() const { return static_cast<std::int64_t>(free_blocks_.size()); }  // not taken
  std::int64_t unreserved_blocks() const;
  std::int64_t pool_blocks() const { return pool_.blocks; }
  std::int64_t frames_done(std::int64_t slot) const { return song(slot).frames_done; }
  // The last codebook's logits of the song in `slot` from the last step() (host F32 [1 or 2, V]:
  // conditional, unconditional), for tests and diagnostics.
  Tensor last_logits(std::int64_t slot) const;

 private:
  // A prompt between begin() and the prefill() that finishes it.
  struct PendingPrompt {
    Tensor hidden;          // [rows · prompt_length, dim]: the embedded prompt, row by row
    std::int64_t done = 0;  // positions run
    SessionOptions options;
  };
  struct Song {
    bool active = false, cfg = false;
    std::int64_t prompt_length = 0, frames_done = 0, max_frames = 0, reserved_blocks = 0;
    SamplingParams sampling;
    std::array<std::vector<std::int32_t>, 2> blocks;  // per row, in position order
    std::shared_ptr<PendingPrompt> pending;           // set until the first frame
  };

  const Song& song(std::int64_t slot) const;
  // The song's rows at prompt positions [p.done, p.done + n) through the backbone: its output
  // [rows · n, dim], row by row.
  Tensor run_positions(std::int64_t slot, PendingPrompt& p, std::int64_t n);
  // The first frame of the song in `slot` from last_h (frame 0 draws no id past first_frame_blocked_end).
  Frame first_frame(std::int64_t slot, const Tensor& last_h, const SessionOptions& options);
  void flush_tables();  // the block-table rows changed since the last flush, to the device
  // The pool slot of `position` of row `row` of `s` (taking a new block when it starts one).
  std::int32_t kv_slot(std::int64_t slot, std::int64_t row, std::int64_t position);
  // The depth of a frame over `rows` rows whose backbone output is last_h: codebook 0 from the
  // head, then the depth decoder; songs [S] sample from rng [S, 2] into frames I32 [8, ≥S] and
  // row_tokens I32 [8, ≥rows] (columns 0..S, 0..rows).
  void decode(const Tensor& last_h, const SongSampling& songs, Tensor& rng, Tensor& frames, Tensor& row_tokens);
  void batch_step(std::int64_t rows);  // the ops of step() for a bucket of `rows`
  SongSampling songs_view(std::int64_t count);

  const MulaModel& model_;
  Backend& backend_;
  BatchOptions options_;
  std::int64_t rows_max_, table_width_;
  std::vector<Song> songs_;
  std::vector<std::int32_t> free_blocks_;  // a stack: the lowest block on top

  KvPool pool_;
  StackScratch scratch_;  // the backbone over rows_max_ rows
  StackState decoder_;    // rows_max_ rows × 8 positions, refilled every frame
  Tensor tables_, tables_host_;                  // I32 [rows_max, table_width] (−1: none)
  std::vector<std::int64_t> dirty_rows_;         // rows of tables_host_ not yet written to tables_
  Tensor positions_, slots_, kv_rows_;           // I32 [rows_max]: the step's plan
  Tensor step_tokens_, step_mask_, step_uncond_;  // [rows_max, 9], [rows_max, 9], [rows_max]
  SongSampling sampling_;                         // [slots]
  Tensor rng_;                                    // I64 [slots, 2]
  Tensor frames_, row_tokens_;                    // I32 [8, slots], [8, rows_max]
  Tensor decoder_first_positions_;                // I32 [2] = {0, 1}
  std::array<Tensor, kNumCodebooks> decoder_positions_;  // I32 [1] = {k + 1} for k ≥ 1
  Tensor hidden_, last_h_, logits_, embedding_;   // [rows_max, D], [rows_max, D], [rows_max, V], [rows_max, D]
  Tensor dec_wide_, dec_x_, dec_out_, dec_h_;     // [rows_max, 2D], [2·rows_max, Dd] ×2, [rows_max, Dd]
  std::map<std::int64_t, std::shared_ptr<OpGraph>> graphs_;  // per bucket (null: run the ops)
};

}  // namespace hs
