#include "daemon/admission.h"

#include <algorithm>
#include <string>

#include "engine/core/error.h"

namespace hs::daemon {

int RealtimeAdmission::settle_rounds(int first_chunk_frames) { return std::max(8, first_chunk_frames + 4); }

RealtimeAdmission::RealtimeAdmission(std::optional<double> budget_s, int settle_rounds)
    : budget_s_(budget_s), settle_rounds_(settle_rounds) {
  if (budget_s && !(*budget_s > 0))
    throw InvalidArgument("RealtimeAdmission: budget_s must be > 0, got " + std::to_string(*budget_s));
  if (settle_rounds < 1)
    throw InvalidArgument("RealtimeAdmission: settle_rounds must be >= 1, got " + std::to_string(settle_rounds));
}

void RealtimeAdmission::observe_round(const Round& round) {
  const int songs = round.songs - round.prompt_songs;
  const double seconds = std::max(0.0, round.seconds - round.prompt_s);
  if (songs < 1) return;
  ++rounds_;
  largest_round_ = std::max(largest_round_, songs);
  const double n = songs;
  w_ = w_ * kDecay + 1;
  wn_ = wn_ * kDecay + n;
  wnn_ = wnn_ * kDecay + n * n;
  wt_ = wt_ * kDecay + seconds;
  wnt_ = wnt_ * kDecay + n * seconds;
}

std::optional<double> RealtimeAdmission::predicted_round_s(int songs) const {
  if (w_ == 0) return std::nullopt;
  const double mean_n = wn_ / w_;
  const double mean_t = wt_ / w_;
  const double var_n = wnn_ / w_ - mean_n * mean_n;
  if (var_n >= kMinSizeVariance) {
    const double slope = (wnt_ / w_ - mean_n * mean_t) / var_n;
    if (slope > 0) return std::max(0.0, mean_t + slope * (songs - mean_n));
  }
  return songs * (mean_t / mean_n);
}

bool RealtimeAdmission::admits_one_more(int running) const {
  if (!budget_s_ || running == 0 || !predicted_round_s(running + 1)) return true;
  // Songs that started after the last round start beside this one; a start measured by fewer
  // rounds holds it.
  if (settling() && rounds_ > started_at_round_) return false;
  if (running + 1 > kGrowth * largest_round_) return false;
  return has_room_for_one_more(running);
}

bool RealtimeAdmission::has_room_for_one_more(int running) const {
  const std::optional<double> predicted = predicted_round_s(running + 1);
  return !budget_s_ || running == 0 || !predicted || *predicted <= *budget_s_;
}

void RealtimeAdmission::started() { started_at_round_ = rounds_; }

}  // namespace hs::daemon
