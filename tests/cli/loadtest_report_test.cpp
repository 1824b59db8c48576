// The arithmetic of `heartstream loadtest` on hand-made arrival sequences: a 1x listener's
// underruns (pre_skip, the clock shifted by each stall), nearest-rank percentiles, a song's record
// from its trace, and the verdict over songs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <vector>

#include "clients/cli/loadtest_report.h"

namespace hs::cli {
namespace {

constexpr std::int64_t kPreSkip = 312;
constexpr double kRate = 48000.0;

// When packet k is due for a listener who started at `start_s` and has stalled `stalled_s` so far.
double due_s(double start_s, int k, double stalled_s, std::int64_t pre_skip = kPreSkip) {
  return start_s + stalled_s + static_cast<double>(std::max<std::int64_t>(0, k * 960 - pre_skip)) / kRate;
}

TEST(LoadtestPlayAt1x, PacketsThatArriveByTheirDueTimeNeverStall) {
  std::vector<double> arrivals{5.0};
  for (int k = 1; k < 50; ++k) arrivals.push_back(due_s(5.0, k, 0));  // each exactly on time
  const Playback p = play_at_1x(arrivals, kPreSkip);
  EXPECT_EQ(p.underruns, 0);
  EXPECT_EQ(p.underrun_s, 0.0);
  EXPECT_FALSE(p.first_underrun_at_s);
  const std::vector<double> burst(50, 5.0);  // all at once: the listener has everything ahead
  EXPECT_EQ(play_at_1x(burst, kPreSkip).underruns, 0);
}

TEST(LoadtestPlayAt1x, ALatePacketStallsAndShiftsTheLaterDueTimes) {
  std::vector<double> arrivals{1.0, due_s(1.0, 1, 0), due_s(1.0, 2, 0) + 0.1};  // packet 2 is 100 ms late
  // Packet 3 is on time only for a listener whose clock moved by the 100 ms stall.
  arrivals.push_back(due_s(1.0, 3, 0.1) - 0.001);
  Playback p = play_at_1x(arrivals, kPreSkip);
  EXPECT_EQ(p.underruns, 1);
  EXPECT_NEAR(p.underrun_s, 0.1, 1e-9);
  EXPECT_NEAR(*p.first_underrun_at_s, (2 * 960.0 - kPreSkip) / kRate, 1e-12);  // where packet 2 starts
  arrivals.push_back(due_s(1.0, 4, 0.1) + 0.25);  // a second stall adds up; the first stays the first
  p = play_at_1x(arrivals, kPreSkip);
  EXPECT_EQ(p.underruns, 2);
  EXPECT_NEAR(p.underrun_s, 0.35, 1e-9);
  EXPECT_NEAR(*p.first_underrun_at_s, (2 * 960.0 - kPreSkip) / kRate, 1e-12);
}

TEST(LoadtestPlayAt1x, PreSkipSamplesAreNotPlayed) {
  // Packet 1 plays (960 − pre_skip) samples after the start: 13.5 ms with pre_skip 312, 20 ms without.
  const std::vector<double> arrivals{0.0, 0.015};
  EXPECT_EQ(play_at_1x(arrivals, 0).underruns, 0);
  const Playback p = play_at_1x(arrivals, kPreSkip);
  EXPECT_EQ(p.underruns, 1);
  EXPECT_NEAR(p.underrun_s, 0.015 - (960.0 - kPreSkip) / kRate, 1e-12);
  EXPECT_EQ(play_at_1x({}, kPreSkip).underruns, 0);
}

TEST(LoadtestPercentile, NearestRankOverUnsortedValues) {
  std::vector<double> values(100);
  std::iota(values.begin(), values.end(), 1.0);
  std::shuffle(values.begin(), values.end(), std::mt19937(7));
  EXPECT_EQ(percentile(values, 50), 50.0);
  EXPECT_EQ(percentile(values, 95), 95.0);
  EXPECT_EQ(percentile(values, 99), 99.0);
  const std::vector<double> ten{10, 3, 7, 1, 9, 2, 8, 4, 6, 5};
  EXPECT_EQ(percentile(ten, 50), 5.0);
  EXPECT_EQ(percentile(ten, 95), 10.0);  // rank ceil(9.5) = 10
  const std::optional<Percentiles> p = percentiles({4.5});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->p50, 4.5);
  EXPECT_EQ(p->p99, 4.5);
  EXPECT_EQ(p->max, 4.5);
  EXPECT_FALSE(percentiles({}));
}

TEST(LoadtestRecordSong, MeasuresFromTheTrace) {
  using std::chrono::milliseconds;
  const SongClock::time_point run_start{};
  SongTrace t;
  t.sent = run_start + milliseconds(1000);
  t.queued = {{t.sent + milliseconds(5), 2}, {t.sent + milliseconds(200), 1}};
  t.started = true;
  t.started_at = t.sent + milliseconds(400);
  t.pre_skip = kPreSkip;
  t.seed = 9;
  for (int k = 0; k < 10; ++k) t.packets.push_back(t.started_at + milliseconds(100));  // one burst
  t.packets.push_back(t.packets.back() + milliseconds(500));                            // then one 500 ms later
  t.ended = t.started_at + milliseconds(1000);
  t.reason = "length";
  t.audio_ms = 160;
  const SongRecord r = record_song(3, run_start, t);
  EXPECT_EQ(r.index, 3);
  EXPECT_NEAR(r.start_s, 1.0, 1e-9);
  EXPECT_EQ(r.queued_events, 2);
  EXPECT_EQ(r.first_queue_position, 2);
  EXPECT_NEAR(r.queued_ms, 400, 1e-6);
  EXPECT_NEAR(r.ttfa_ms, 500, 1e-6);
  EXPECT_NEAR(r.rtf, 1000.0 / 160.0, 1e-9);
  EXPECT_EQ(r.packets, 11);
  EXPECT_EQ(r.audio_received_ms, 220);
  EXPECT_EQ(r.playback.underruns, 1);  // packet 10 due 0.1935 s after the first, came at 0.5 s
  EXPECT_NEAR(r.playback.underrun_s, 0.5 - (10 * 960.0 - kPreSkip) / kRate, 1e-9);
  SongTrace never_queued = t;
  never_queued.queued.clear();
  EXPECT_EQ(record_song(0, run_start, never_queued).queued_ms, 0);
}

TEST(LoadtestSummarizeLoad, CountsErrorsByKindAndTakesPercentilesOverIntactSongs) {
  std::vector<SongRecord> songs(4);
  songs[0].ttfa_ms = 100;
  songs[1].ttfa_ms = 300;
  songs[2] = {.ttfa_ms = 9000, .error_kind = "error:busy"};
  songs[3] = {.error_kind = "error:busy"};
  songs[1].playback = {.underrun_s = 0.5, .underruns = 2, .first_underrun_at_s = 1.2};
  songs[1].queued_events = 1;
  const LoadSummary s = summarize_load(songs, std::nullopt);
  EXPECT_EQ(s.songs, 4);
  EXPECT_EQ(s.songs_ok, 2);
  EXPECT_EQ(s.songs_failed, 2);
  EXPECT_EQ(s.songs_queued, 1);
  EXPECT_EQ(s.errors.at("error:busy"), 2);
  ASSERT_TRUE(s.ttfa_ms);
  EXPECT_EQ(s.ttfa_ms->p50, 100);
  EXPECT_EQ(s.ttfa_ms->max, 300);
  EXPECT_EQ(s.underruns->max, 2);
  ASSERT_EQ(s.failures.size(), 1u);
  EXPECT_EQ(s.failures[0], "2 song(s) failed");
}

TEST(LoadtestSummarizeLoad, UnderrunsFailOnlyPastTheGivenLimit) {
  std::vector<SongRecord> songs(2);
  songs[0].playback = {.underrun_s = 0.2, .underruns = 1, .first_underrun_at_s = 0.3};
  songs[1].playback = {.underrun_s = 0.7, .underruns = 3, .first_underrun_at_s = 0.6};
  EXPECT_TRUE(summarize_load(songs, std::nullopt).failures.empty());
  EXPECT_TRUE(summarize_load(songs, 0.7).failures.empty());
  const LoadSummary s = summarize_load(songs, 0.5);
  ASSERT_EQ(s.failures.size(), 1u);
  EXPECT_NE(s.failures[0].find("1 song(s) underran more than 0.500 s"), std::string::npos) << s.failures[0];
  EXPECT_NEAR(s.underrun_s_total, 0.9, 1e-12);
}

}  // namespace
}  // namespace hs::cli
