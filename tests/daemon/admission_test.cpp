// RealtimeAdmission with hand-made round times: what it predicts from the rounds it has seen, and
// when it lets one more song start (budget 64 ms: the 80 ms frame at the default headroom 0.8).
#include <gtest/gtest.h>

#include "daemon/admission.h"
#include "engine/core/error.h"

namespace hs::daemon {
namespace {

constexpr double kBudgetS = 0.064;
// Admission for songs with the default 4-frame first codec chunk.
const int kSettleRounds = RealtimeAdmission::settle_rounds(4);

TEST(RealtimeAdmission, AdmitsEveryoneBeforeTheFirstRound) {
  const RealtimeAdmission admission(kBudgetS, kSettleRounds);
  EXPECT_FALSE(admission.predicted_round_s(1).has_value());
  EXPECT_TRUE(admission.admits_one_more(1000));
}

TEST(RealtimeAdmission, RoundsOfOneSizeGiveATimePerSong) {
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  for (int i = 0; i < 3; ++i) admission.observe_round({4, 0.040});
  EXPECT_NEAR(*admission.predicted_round_s(7), 0.070, 1e-12);
  EXPECT_TRUE(admission.admits_one_more(5));   // 6 songs: 60 ms
  EXPECT_FALSE(admission.admits_one_more(6));  // 7 songs: 70 ms
}

TEST(RealtimeAdmission, FitsAFixedCostPlusACostPerSong) {
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  // A batched step: 4 ms whatever the batch, 1 ms per song.
  for (int round = 0; round < 5; ++round)
    for (int songs = 1; songs <= 32; ++songs) admission.observe_round({songs, 0.004 + 0.001 * songs});
  EXPECT_NEAR(*admission.predicted_round_s(60), 0.064, 1e-9);
  EXPECT_TRUE(admission.admits_one_more(55));   // 56 songs: 60 ms (a time per song would say 70 ms)
  EXPECT_TRUE(admission.admits_one_more(58));   // 59 songs: 63 ms
  EXPECT_FALSE(admission.admits_one_more(60));  // 61 songs: 65 ms
}

TEST(RealtimeAdmission, NewSongsPromptsAreLeftOutOfTheSteadyRound) {
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  // 4 songs at 10 ms each, beside 3 new songs running their prompts (60 ms) in every round.
  for (int i = 0; i < 20; ++i)
    admission.observe_round({.songs = 7, .seconds = 0.100, .prompt_songs = 3, .prompt_s = 0.060});
  EXPECT_NEAR(*admission.predicted_round_s(6), 0.060, 1e-12);
  EXPECT_TRUE(admission.admits_one_more(5));   // 6 songs: 60 ms (with the prompts: 86 ms)
  EXPECT_FALSE(admission.admits_one_more(6));  // 7 songs: 70 ms
  // A round of prompts alone measures nothing.
  RealtimeAdmission fresh(kBudgetS, kSettleRounds);
  fresh.observe_round({.songs = 2, .seconds = 0.5, .prompt_songs = 2, .prompt_s = 0.5});
  EXPECT_FALSE(fresh.predicted_round_s(1).has_value());
}

TEST(RealtimeAdmission, NeverBeyondAMultipleOfTheLargestRoundSeen) {
  constexpr int g = RealtimeAdmission::kGrowth;
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  for (int i = 0; i < 20; ++i) admission.observe_round({1, 0.001});
  EXPECT_TRUE(admission.admits_one_more(g - 1));  // g songs
  EXPECT_FALSE(admission.admits_one_more(g));     // g + 1 songs: predicted g + 1 ms, but never measured near
  for (int i = 0; i < 20; ++i) admission.observe_round({2, 0.002});
  EXPECT_TRUE(admission.admits_one_more(2 * g - 1));
  EXPECT_FALSE(admission.admits_one_more(2 * g));
}

TEST(RealtimeAdmission, SongsThatStartedAreMeasuredBeforeMoreStart) {
  constexpr int g = RealtimeAdmission::kGrowth;
  for (const int first_chunk_frames : {4, 16}) {
    SCOPED_TRACE("first chunk " + std::to_string(first_chunk_frames) + " frames");
    const int settle = RealtimeAdmission::settle_rounds(first_chunk_frames);
    // The new songs' first chunk falls due after first_chunk_frames rounds: rounds that decode it
    // come before more songs start.
    EXPECT_GT(settle, first_chunk_frames);
    RealtimeAdmission admission(kBudgetS, settle);
    for (int i = 0; i < 20; ++i) admission.observe_round({4, 0.004});
    // Songs arriving together start together, up to kGrowth times the largest round.
    for (int running = 4; running < 4 * g; ++running) {
      ASSERT_TRUE(admission.admits_one_more(running)) << running;
      admission.started();
    }
    EXPECT_FALSE(admission.admits_one_more(4 * g));  // beyond kGrowth times 4
    for (int round = 1; round < settle; ++round) {
      admission.observe_round({4 * g, 0.001 * 4 * g});
      EXPECT_FALSE(admission.admits_one_more(4 * g)) << "round " << round << " after the starts";
      EXPECT_TRUE(admission.settling());
    }
    admission.observe_round({4 * g, 0.001 * 4 * g});
    EXPECT_FALSE(admission.settling());
    EXPECT_TRUE(admission.admits_one_more(4 * g));
  }
  // With the default 4-frame first chunk the second chunk (due after frame 8) is measured too.
  EXPECT_GE(kSettleRounds, 8);
}

TEST(RealtimeAdmission, ASongAloneAlwaysStarts) {
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  admission.observe_round({1, 1.0});  // far slower than real time
  EXPECT_TRUE(admission.admits_one_more(0));
  EXPECT_FALSE(admission.admits_one_more(1));
}

TEST(RealtimeAdmission, FollowsAChangingLoad) {
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  for (int i = 0; i < 200; ++i) admission.observe_round({4, 0.040});
  EXPECT_TRUE(admission.admits_one_more(5));  // 6 songs: 60 ms
  for (int i = 0; i < 500; ++i) admission.observe_round({4, 0.120});
  EXPECT_NEAR(*admission.predicted_round_s(2), 0.060, 1e-3);
  EXPECT_TRUE(admission.admits_one_more(1));   // 2 songs: 60 ms
  EXPECT_FALSE(admission.admits_one_more(2));  // 3 songs: 90 ms
}

TEST(RealtimeAdmission, ASlopeThatFallsIsNoiseAndATimePerSongIsUsed) {
  RealtimeAdmission admission(kBudgetS, kSettleRounds);
  for (int i = 0; i < 100; ++i) {
    admission.observe_round({1, 0.020});
    admission.observe_round({3, 0.010});
  }
  // About 2 songs per 15 ms round: 7.5 ms a song, growing with the songs.
  EXPECT_NEAR(*admission.predicted_round_s(8), 0.060, 1e-3);
  EXPECT_GT(*admission.predicted_round_s(16), *admission.predicted_round_s(8));
  EXPECT_FALSE(admission.admits_one_more(9));
}

// server.realtime_headroom: off. The rounds that hold songs above (far over the frame, a start
// settling, beyond kGrowth times the largest round) hold none; the fit still predicts.
TEST(RealtimeAdmission, WithoutABudgetEverySongMayStart) {
  RealtimeAdmission admission(std::nullopt, kSettleRounds);
  for (int i = 0; i < 20; ++i) admission.observe_round({2, 1.0});
  admission.started();
  admission.observe_round({3, 1.5});
  EXPECT_NEAR(*admission.predicted_round_s(4), 2.0, 1e-9);
  EXPECT_FALSE(admission.settling());
  EXPECT_TRUE(admission.admits_one_more(100));
  EXPECT_TRUE(admission.has_room_for_one_more(100));
}

TEST(RealtimeAdmission, ABudgetAndASettlePeriodMustBePositive) {
  EXPECT_THROW(RealtimeAdmission(0.0, kSettleRounds), InvalidArgument);
  EXPECT_THROW(RealtimeAdmission(-1.0, kSettleRounds), InvalidArgument);
  EXPECT_THROW(RealtimeAdmission(kBudgetS, 0), InvalidArgument);
}

}  // namespace
}  // namespace hs::daemon
