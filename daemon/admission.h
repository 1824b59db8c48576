// Real-time admission (issue 12, BATCHING.md "Admission"): whether the engine worker can start one
// more song without slowing the running ones below real time. Pure and single-threaded: the worker
// feeds it each round's measured time and the number of songs the round stepped (one frame each),
// and asks before it starts a queued song.
//
// The model is a round time t ≈ a + b·songs (a: what a round costs whatever its size, such as the
// weights a batched step reads once; b: the cost of one more song), fitted by least squares over
// the rounds seen, each weighted by kDecay^age so the fit follows a changing load. When the rounds
// seen have too few distinct sizes to fit a slope (or the slope comes out ≤ 0, which is noise), it
// predicts t ≈ songs × the mean time per song, which overestimates a round with a ≥ 0 beyond the
// sizes seen. A song is admitted when the round with it is predicted to take at most the budget:
// the frame period (80 ms) × server.realtime_headroom.
#pragma once

#include <optional>

namespace hs::daemon {

class RealtimeAdmission {
 public:
  // The weight of a round falls by this factor per later round (a memory of about 100 rounds).
  static constexpr double kDecay = 0.99;
  // The weighted variance of the round sizes, in songs², below which no slope is fitted.
  static constexpr double kMinSizeVariance = 0.25;

  // `budget_s`: the longest predicted round that still admits (frame period × headroom), > 0.
  explicit RealtimeAdmission(double budget_s);

  // One round stepped `songs` songs (≥ 1) in `seconds`.
  void observe_round(int songs, double seconds);
  // The predicted time of a round of `songs` songs; nullopt before the first round.
  std::optional<double> predicted_round_s(int songs) const;
  // Whether one more song may start beside `running` songs: always with none running (waiting
  // cannot make a song alone faster) and before the first measurement; otherwise when a round of
  // running + 1 songs is predicted within the budget.
  bool admits_one_more(int running) const;
  double budget_s() const { return budget_s_; }

 private:
  double budget_s_;
  // Decayed sums over the rounds: Σw, Σw·n, Σw·n², Σw·t, Σw·n·t.
  double w_ = 0, wn_ = 0, wnn_ = 0, wt_ = 0, wnt_ = 0;
};

}  // namespace hs::daemon
