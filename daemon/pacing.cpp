#include "daemon/pacing.h"

#include <algorithm>

namespace hs::daemon {

namespace {
constexpr double kLockstepBandS = 1.0;
}  // namespace

double lockstep_band_s(double lookahead_s) { return std::min(kLockstepBandS, lookahead_s / 2); }

Pace song_pace(double ahead_s, double lookahead_s, double band_s) {
  if (ahead_s < lookahead_s - band_s) return Pace::Due;
  return ahead_s < lookahead_s ? Pace::Ready : Pace::Hold;
}

double start_preroll_s(const SongStart& start) {
  const bool quiet = start.others == 0 || (!start.others_starting && start.round_share &&
                                           *start.round_share <= kQuietStartShare);
  return quiet ? 0.0 : kCrowdPrerollS;
}

}  // namespace hs::daemon
