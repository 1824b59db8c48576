// Real-time admission (issue 12, BATCHING.md "Admission"): whether the engine worker can start one
// more song without slowing the running ones below real time. Pure and single-threaded: the worker
// feeds it each round's measured time and the number of songs the round stepped (one frame each),
// and asks before it starts a queued song.
//
// What it predicts is a steady round: a new song's prompt runs once, in its first rounds (within
// the batch's prefill budget), and is left out — its time and the song — so that a crowd's prompts
// do not read as slow rounds for as long as the fit remembers them (H100, 64 songs arriving within
// a second: after 27 started at once, their prompts held the next start for 0.8 s; first audio p99
// 3.7-4.4 s -> 2.7-2.9 s, benchmarks/results/admission_prompts_h100.json). Newcomers ride out their
// prompts on the pre-roll (daemon/pacing.h), running songs on the audio they hold in hand.
//
// The model is a round time t ≈ a + b·songs (a: what a round costs whatever its size, such as the
// weights a batched step reads once; b: the cost of one more song), fitted by least squares over
// the rounds seen, each weighted by kDecay^age so the fit follows a changing load. When the rounds
// seen have too few distinct sizes to fit a slope (or the slope comes out ≤ 0, which is noise), it
// predicts t ≈ songs × the mean time per song, which overestimates a round with a ≥ 0 beyond the
// sizes seen. A song is admitted when the round with it is predicted to take at most the budget:
// the frame period (80 ms) × server.realtime_headroom.
//
// Two guards keep an early, optimistic fit from letting in a crowd at once (measured on the CPU
// demo: rounds of one song that had not yet made a codec chunk predicted 3 ms a song, 13 songs
// started in 0.2 s, and rounds of them took 120 ms): the fit is never asked about more than
// kGrowth times the most songs a round has stepped, and after songs start no more start until
// rounds have measured their first codec chunk (settle_rounds). Songs that arrive together still
// start together, at most kGrowth-fold more each settle period.
//
// Without a budget (server.realtime_headroom: off) it only measures: every song may start.
#pragma once

#include <optional>

namespace hs::daemon {

class RealtimeAdmission {
 public:
  // The weight of a round falls by this factor per later round (a memory of about 100 rounds).
  static constexpr double kDecay = 0.99;
  // The weighted variance of the round sizes, in songs², below which no slope is fitted.
  static constexpr double kMinSizeVariance = 0.25;
  // Rounds measured after a start before more songs may start, for songs whose first codec chunk
  // is `first_chunk_frames` frames long (streaming.first_chunk_frames): the chunk falls due after
  // that many rounds and is decoded in the next few, so its cost is in the fit — with the default
  // 4-frame first chunk, 8 rounds, in which the second chunk (after frame 8) is decoded as well.
  // With first_chunk_frames 16 and 8 settle rounds the next songs started before any first chunk
  // was decoded: on an H100, 96 songs arriving over 2 s all started within 2.4 s and every round
  // ran slower than real time (RTF 1.04); with 20 rounds 82 started (RTF 0.92), and a 64-song
  // burst's first audio went from p99 1.20 to 1.36 s (benchmarks/results/settle_h100.json; the CPU
  // demo likewise, settle_cpu.json).
  static int settle_rounds(int first_chunk_frames);
  // The most songs the fit is asked about, as a multiple of the largest round seen.
  static constexpr int kGrowth = 4;

  // `budget_s`: the longest predicted round that still admits (frame period × headroom), > 0;
  // nullopt: no limit. `settle_rounds`: see settle_rounds(), ≥ 1.
  RealtimeAdmission(std::optional<double> budget_s, int settle_rounds);

  // A round the worker ran: `songs` songs stepped in `seconds`, of which `prompt_songs` ran (part
  // of) their prompt, taking `prompt_s`, instead of a frame. Only its other songs and time are
  // measured; a round of prompts alone measures nothing.
  struct Round {
    int songs = 0;
    double seconds = 0;
    int prompt_songs = 0;
    double prompt_s = 0;
  };
  void observe_round(const Round& round);
  // The predicted time of a round of `songs` songs; nullopt before the first round.
  std::optional<double> predicted_round_s(int songs) const;
  // Whether one more song may start beside `running` songs: always with none running (waiting
  // cannot make a song alone faster) and before the first measurement; otherwise when no start is
  // settling (songs started after the last round, or settle_rounds rounds ago or more),
  // running + 1 is at most kGrowth times the largest round seen, and a round of running + 1 songs is
  // predicted within the budget.
  bool admits_one_more(int running) const;
  // admits_one_more without its caution (the settling rule, the growth limit): whether the fit
  // predicts room for one more song (what /readyz reports: that caution delays a song by a few
  // rounds, it does not make the daemon full).
  bool has_room_for_one_more(int running) const;
  // Songs started fewer than settle_rounds rounds ago.
  bool settling() const { return budget_s_ && started_at_round_ >= 0 && rounds_ - started_at_round_ < settle_rounds_; }
  // A song started (call it for each start the model allowed).
  void started();
  std::optional<double> budget_s() const { return budget_s_; }

 private:
  std::optional<double> budget_s_;
  int settle_rounds_;
  long rounds_ = 0;
  long started_at_round_ = -1;  // rounds_ at the last start; -1: none yet
  int largest_round_ = 0;
  // Decayed sums over the rounds: Σw, Σw·n, Σw·n², Σw·t, Σw·n·t.
  double w_ = 0, wn_ = 0, wnn_ = 0, wt_ = 0, wnt_ = 0;
};

}  // namespace hs::daemon
