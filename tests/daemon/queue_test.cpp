// The admission queue over real sockets, on the demo model: past server.max_sessions songs wait in
// line, told their position ({"type":"queued","position":N}) and again when it changes, and start
// in order as slots free; past server.queue_limit too they get `busy`. A cancel or a disconnect
// while queued moves the others up; POST /v1/generate queues too; a drain ends queued songs with
// `shutdown`. Every wait is on a message the daemon sends (or a metric it sets), never a sleep.
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "tests/audio/audio_decoders.h"
#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

namespace hs::test {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::int64_t kLongSongMs = 60000;  // runs until the test cancels it
constexpr std::int64_t kSongMs = 800;
constexpr std::int64_t kFrameMs = 80;
constexpr std::int64_t kSamplesPerMs = 48;
constexpr std::int64_t kOpusPacketSamples = 960;
// Metric scrapes before a state the test waits for counts as never reached.
constexpr int kMaxScrapes = 10000;


// The demo model never ends a song early: a whole song is 1 + max/80 frames of audio, in Opus
// packets that libopus decodes.
void expect_whole_song(const SongTranscript& t, std::int64_t max_audio_length_ms) {
  ASSERT_EQ(t.end.at("type"), "done") << json::serialize(t.end);
  EXPECT_EQ(t.started.at("type"), "started");
  EXPECT_EQ(t.end.at("reason"), "length");
  EXPECT_EQ(t.end.at("audio_ms").as_int64(), (1 + max_audio_length_ms / kFrameMs) * kFrameMs);
  EXPECT_EQ(decode_opus_packets(t.packets), static_cast<std::int64_t>(t.packets.size()) * kOpusPacketSamples);
}

std::string scrape(unsigned short port) { return http_request(port, http::verb::get, "/metrics").body; }

void one_slot_two_places(daemon::DaemonConfig& c) {
  c.server.max_sessions = 1;
  c.server.queue_limit = 2;
}

TEST(Queue, SongsWaitInOrderAndStartAsSlotsFree) {
  TestDaemon daemon(one_slot_two_places);
  WsClient first(daemon.port());
  first.send_text(json::serialize(song_request(kLongSongMs, 1)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  WsClient second(daemon.port());
  second.send_text(json::serialize(song_request(kSongMs, 2)));
  EXPECT_EQ(second.read_json(), queued_message(1));
  WsClient third(daemon.port());
  third.send_text(json::serialize(song_request(kSongMs, 3)));
  EXPECT_EQ(third.read_json(), queued_message(2));
  WsClient fourth(daemon.port());
  fourth.send_text(json::serialize(song_request(kSongMs, 4)));
  const json::object busy = fourth.read_json();
  EXPECT_EQ(busy.at("code"), "busy") << json::serialize(busy);

  const std::string metrics = scrape(daemon.port());
  EXPECT_EQ(metric_value(metrics, "heartstream_queue_depth"), 2.0);
  EXPECT_EQ(metric_value(metrics, "heartstream_sessions_running"), 1.0);
  EXPECT_EQ(metric_value(metrics, "heartstream_slot_occupancy"), 1.0);
  EXPECT_EQ(metric_value(metrics, "heartstream_sessions_active"), 3.0);
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_queued_total{reason="max_sessions"})"), 2.0);
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_rejected_total{reason="busy"})"), 1.0);
  const json::value info = json::parse(http_request(daemon.port(), http::verb::get, "/v1/info").body);
  EXPECT_EQ(info.at("load"), (json::object{{"running", 1}, {"queued", 2}}));

  // The first song ends: the second starts, the third moves up, and each plays whole.
  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
  const SongTranscript second_song = second.read_song();
  EXPECT_TRUE(second_song.queued.empty());
  expect_whole_song(second_song, kSongMs);
  const SongTranscript third_song = third.read_song();
  EXPECT_EQ(third_song.queued, std::vector<std::int64_t>{1});
  expect_whole_song(third_song, kSongMs);
  // Waiting changed nothing in a song: the same packets as the same request run alone.
  EXPECT_TRUE(third_song.packets == WsClient(daemon.port()).generate(song_request(kSongMs, 3)).packets);

  const std::string after = scrape(daemon.port());
  EXPECT_EQ(metric_value(after, "heartstream_queue_depth"), 0.0);
  EXPECT_EQ(metric_value(after, "heartstream_sessions_active"), 0.0);
  EXPECT_EQ(metric_value(after, "heartstream_queue_wait_seconds_count"), 4.0);
}

TEST(Queue, CancelOrDisconnectWhileQueuedMovesTheOthersUp) {
  TestDaemon daemon(one_slot_two_places);
  WsClient first(daemon.port());
  first.send_text(json::serialize(song_request(kLongSongMs, 1)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  WsClient second(daemon.port());
  second.send_text(json::serialize(song_request(kSongMs, 2)));
  EXPECT_EQ(second.read_json(), queued_message(1));
  WsClient third(daemon.port());
  third.send_text(json::serialize(song_request(kSongMs, 3)));
  EXPECT_EQ(third.read_json(), queued_message(2));

  // A cancelled queued song ends as cancelled without starting.
  second.send_text(R"({"type":"cancel"})");
  const SongTranscript cancelled = second.read_song();
  EXPECT_TRUE(cancelled.started.empty());
  EXPECT_TRUE(cancelled.packets.empty());
  EXPECT_EQ(cancelled.end.at("type"), "done");
  EXPECT_EQ(cancelled.end.at("reason"), "cancelled");
  EXPECT_EQ(cancelled.end.at("audio_ms"), 0);
  EXPECT_EQ(third.read_json(), queued_message(1));

  // A client gone while queued leaves its place too.
  WsClient fourth(daemon.port());
  fourth.send_text(json::serialize(song_request(kSongMs, 4)));
  EXPECT_EQ(fourth.read_json(), queued_message(2));
  third.abort();
  EXPECT_EQ(fourth.read_json(), queued_message(1));

  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
  expect_whole_song(fourth.read_song(), kSongMs);
  const std::string metrics = scrape(daemon.port());
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_total{outcome="cancelled"})"), 3.0);
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_total{outcome="length"})"), 1.0);
  EXPECT_EQ(metric_value(metrics, "heartstream_sessions_active"), 0.0);
}

TEST(Queue, PostGenerateWaitsInTheQueueThenStreams) {
  TestDaemon daemon(one_slot_two_places);
  WsClient first(daemon.port());
  first.send_text(json::serialize(song_request(kLongSongMs, 1)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  auto post = std::async(std::launch::async, [&] {
    return http_request(daemon.port(), http::verb::post, "/v1/generate",
                        R"({"tags":"piano","lyrics":"la","max_audio_length_ms":1000,"seed":5})");
  });
  int scrapes = 0;
  while (metric_value(scrape(daemon.port()), "heartstream_queue_depth") != 1.0) ASSERT_LT(++scrapes, kMaxScrapes);
  // A WebSocket song queues behind it.
  WsClient next(daemon.port());
  next.send_text(json::serialize(song_request(kSongMs, 2)));
  EXPECT_EQ(next.read_json(), queued_message(2));

  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
  const HttpResult res = post.get();
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.content_type, "audio/ogg");
  EXPECT_EQ(decode_ogg_opus(res.body).pcm_total, 13 * kFrameMs * kSamplesPerMs);  // 1 + 1000/80 frames
  const SongTranscript next_song = next.read_song();
  EXPECT_EQ(next_song.queued, std::vector<std::int64_t>{1});
  expect_whole_song(next_song, kSongMs);
}

// With a budget of 80 µs a round (headroom 0.001), no demo round of two songs fits: once the first
// song's rounds are measured (its first audio comes after several), a second song waits though
// slots are free, and starts when the first ends (a song alone always starts).
TEST(Queue, ASongWaitsWhileTheRoundWithItWouldNotKeepRealTime) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.max_sessions = 4;
    c.server.realtime_headroom = 0.001;
  });
  WsClient first(daemon.port());
  first.send_text(json::serialize(song_request(kLongSongMs, 1)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  while (!first.read().binary) {
  }
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/readyz").body,
            "full: 1/4 running, 0/32 queued (real-time admission holds new songs)\n");
  WsClient second(daemon.port());
  second.send_text(json::serialize(song_request(kSongMs, 2)));
  EXPECT_EQ(second.read_json(), queued_message(1));
  const std::string metrics = scrape(daemon.port());
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_queued_total{reason="realtime"})"), 1.0);
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_queued_total{reason="max_sessions"})"), 0.0);
  EXPECT_GT(metric_value(metrics, "heartstream_admission_predicted_round_seconds"), 0.00008);

  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
  expect_whole_song(second.read_song(), kSongMs);
}

TEST(Queue, DrainEndsQueuedSongsWithShutdown) {
  TestDaemon daemon(one_slot_two_places);
  WsClient first(daemon.port());
  first.send_text(json::serialize(song_request(kLongSongMs, 1)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  WsClient second(daemon.port());
  second.send_text(json::serialize(song_request(kSongMs, 2)));
  EXPECT_EQ(second.read_json(), queued_message(1));

  daemon.drain();
  const SongTranscript ended = second.read_song();
  EXPECT_EQ(ended.end.at("type"), "error");
  EXPECT_EQ(ended.end.at("code"), "shutdown");
  EXPECT_TRUE(ended.started.empty());
  // The running song goes on until it ends; then the drain is over.
  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
  // Reading on answers the daemon's close frames, which lets its shutdown finish.
  for (WsClient* client : {&first, &second})
    EXPECT_THROW(
        while (true) client->read(), boost::system::system_error);
  daemon.wait();
  const std::string metrics = daemon.metrics().prometheus_text();
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_total{outcome="shutdown"})"), 1.0);
  EXPECT_EQ(metric_value(metrics, "heartstream_queue_depth"), 0.0);
}

}  // namespace
}  // namespace hs::test
