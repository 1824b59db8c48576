// Lockstep pacing (daemon/pacing.h): a song's pace from its lead, and simulated songs whose rounds
// cost a fixed part plus a part per song, as the batched LM step does.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "daemon/pacing.h"

namespace hs::daemon {
namespace {

constexpr double kLookaheadS = 10.0;  // streaming.lookahead_s' default
constexpr double kFrameS = 0.08;

TEST(Pacing, PaceFollowsTheLead) {
  const double band = lockstep_band_s(kLookaheadS);
  EXPECT_GT(band, kFrameS);  // wider than a frame: songs a frame apart share rounds
  EXPECT_EQ(song_pace(-1.0, kLookaheadS, band), Pace::Due);  // behind its listener
  EXPECT_EQ(song_pace(kLookaheadS - band - 0.01, kLookaheadS, band), Pace::Due);
  EXPECT_EQ(song_pace(kLookaheadS - band + 0.01, kLookaheadS, band), Pace::Ready);
  EXPECT_EQ(song_pace(kLookaheadS, kLookaheadS, band), Pace::Hold);
  EXPECT_TRUE(steps_in_round(Pace::Due, true));
  EXPECT_TRUE(steps_in_round(Pace::Ready, true));
  EXPECT_FALSE(steps_in_round(Pace::Ready, false));
  EXPECT_FALSE(steps_in_round(Pace::Hold, true));
}

TEST(Pacing, NoLookaheadStepsEachSongAsSoonAsItIsBehind) {
  const double band = lockstep_band_s(0.0);
  EXPECT_EQ(song_pace(-0.01, 0.0, band), Pace::Due);
  EXPECT_EQ(song_pace(0.0, 0.0, band), Pace::Hold);
  const double short_band = lockstep_band_s(0.1);  // a short look-ahead keeps room below its band
  EXPECT_EQ(song_pace(0.01, 0.1, short_band), Pace::Due);
}

struct Paced {
  double mean_round_songs = 0;  // songs per round once every song plays
  double lowest_lead_s = 1e9, highest_lead_s = -1e9;
};

// `songs` songs starting 137 ms apart, each playing from its start (its first audio); a round of n
// songs takes 4 ms + 0.2 ms·n; with no song stepping the worker waits 5 ms (kPausedPoll).
Paced simulate(int songs, double band_s) {
  std::vector<double> start(static_cast<std::size_t>(songs)), frames(start.size(), 0);
  for (std::size_t i = 0; i < start.size(); ++i) start[i] = 0.137 * static_cast<double>(i);
  const auto lead = [&](std::size_t i, double t) { return frames[i] * kFrameS - (t - start[i]); };
  Paced out;
  long rounds = 0, steps = 0;
  for (double t = 0; t < 40.0;) {
    std::vector<Pace> paces;
    for (std::size_t i = 0; i < start.size(); ++i)
      paces.push_back(t < start[i] ? Pace::Hold : song_pace(lead(i, t), kLookaheadS, band_s));
    const bool any_due = std::ranges::find(paces, Pace::Due) != paces.end();
    int n = 0;
    for (std::size_t i = 0; i < start.size(); ++i)
      if (steps_in_round(paces[i], any_due)) {
        frames[i] += 1;
        ++n;
      }
    t += n == 0 ? 0.005 : 0.004 + 0.0002 * n;
    if (t < 20.0 || n == 0) continue;  // steady state: every song started long ago
    ++rounds;
    steps += n;
    for (std::size_t i = 0; i < start.size(); ++i) {
      out.lowest_lead_s = std::min(out.lowest_lead_s, lead(i, t));
      out.highest_lead_s = std::max(out.highest_lead_s, lead(i, t));
    }
  }
  out.mean_round_songs = static_cast<double>(steps) / static_cast<double>(rounds);
  return out;
}

TEST(Pacing, SongsStepTogetherAndStayWithinTheLookahead) {
  const int songs = 32;
  const double band = lockstep_band_s(kLookaheadS);
  const Paced lockstep = simulate(songs, band);
  EXPECT_GE(lockstep.mean_round_songs, 0.95 * songs);
  // No song falls behind the band or runs past the look-ahead by more than a frame and a round.
  EXPECT_GE(lockstep.lowest_lead_s, kLookaheadS - band - kFrameS - 0.02);
  EXPECT_LE(lockstep.highest_lead_s, kLookaheadS + kFrameS);
  // Each song stepping alone once below the look-ahead (the rule before the band) spreads the
  // same songs over rounds of a few each.
  EXPECT_LT(simulate(songs, 0.0).mean_round_songs, 0.5 * songs);
}

// A song plays its first chunk at once only when nothing starts beside it and the engine has room
// (or it is alone); a crowd, a busy engine or one not yet measured make it hold audio back first.
TEST(Pacing, ASongPlaysAtOnceOnlyOnAQuietEngine) {
  EXPECT_EQ(start_preroll_s({}), 0.0);  // alone, unmeasured
  EXPECT_EQ(start_preroll_s({.others = 3, .others_starting = false, .round_share = 0.2}), 0.0);
  EXPECT_EQ(start_preroll_s({.others = 3, .others_starting = false, .round_share = kQuietStartShare}), 0.0);
  EXPECT_EQ(start_preroll_s({.others = 3, .others_starting = false, .round_share = kQuietStartShare + 0.01}),
            kCrowdPrerollS);
  EXPECT_EQ(start_preroll_s({.others = 3, .others_starting = true, .round_share = 0.2}), kCrowdPrerollS);
  EXPECT_EQ(start_preroll_s({.others = 3, .others_starting = false, .round_share = std::nullopt}), kCrowdPrerollS);
}

}  // namespace
}  // namespace hs::daemon
