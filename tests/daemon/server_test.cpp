// heartstreamd over real sockets, on the demo model: the WebSocket protocol (started → Opus
// packets → done, cancel, 16 concurrent songs identical to a solo run, every kind of bad client),
// slow readers, auth, busy, shutdown, and the HTTP endpoints including POST /v1/generate.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include "tests/audio/audio_decoders.h"
#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

namespace hs::test {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

constexpr std::int64_t kSamplesPerMs = 48;
constexpr std::int64_t kOpusPacketSamples = 960;
constexpr std::int64_t kFrameMs = 80;

json::object song(std::int64_t max_audio_length_ms, std::uint64_t seed) {
  return {{"type", "generate"}, {"tags", "piano,happy"}, {"lyrics", "[verse] la la la"},
          {"max_audio_length_ms", max_audio_length_ms}, {"seed", seed}};
}

// The packets a song of `audio_ms` needs: enough to cover pre_skip + the audio (the encoder pads
// the last one with silence).
std::int64_t expected_packets(std::int64_t audio_ms, std::int64_t pre_skip) {
  return (pre_skip + audio_ms * kSamplesPerMs + kOpusPacketSamples - 1) / kOpusPacketSamples;
}

void expect_complete_song(const SongTranscript& t, std::int64_t max_audio_length_ms) {
  ASSERT_EQ(t.end.at("type"), "done") << json::serialize(t.end);
  EXPECT_EQ(t.started.at("sample_rate"), 48000);
  EXPECT_EQ(t.started.at("channels"), 2);
  EXPECT_EQ(t.started.at("codec"), "opus");
  EXPECT_EQ(t.started.at("frame_ms"), 20);
  const std::int64_t pre_skip = t.started.at("pre_skip").as_int64();
  EXPECT_GT(pre_skip, 0);
  // The demo model never emits EOS: the song runs to its length, 1 + max/80 frames.
  EXPECT_EQ(t.end.at("reason"), "length");
  const std::int64_t audio_ms = t.end.at("audio_ms").as_int64();
  EXPECT_EQ(audio_ms, (1 + max_audio_length_ms / kFrameMs) * kFrameMs);
  EXPECT_EQ(static_cast<std::int64_t>(t.packets.size()), expected_packets(audio_ms, pre_skip));
  EXPECT_GT(t.end.at("ttfa_ms").to_number<double>(), 0.0);
  EXPECT_GT(t.end.at("rtf").to_number<double>(), 0.0);
  EXPECT_FALSE(t.progress.empty());
  EXPECT_EQ(decode_opus_packets(t.packets), static_cast<std::int64_t>(t.packets.size()) * kOpusPacketSamples);
}

TEST(Daemon, StreamsASong) {
  TestDaemon daemon;
  WsClient client(daemon.port());
  const SongTranscript t = client.generate(song(1000, 7));
  expect_complete_song(t, 1000);
  EXPECT_EQ(t.started.at("seed"), 7u);
  // The connection takes another song afterwards.
  expect_complete_song(client.generate(song(400, 8)), 400);
  const auto metrics = http_request(daemon.port(), http::verb::get, "/metrics").body;
  EXPECT_EQ(metric_value(metrics, "heartstream_frames_generated_total"), 13.0 + 6.0);
  EXPECT_EQ(metric_value(metrics, "heartstream_sessions_active"), 0.0);
}

TEST(Daemon, CancelMidSong) {
  TestDaemon daemon;
  WsClient client(daemon.port());
  client.send_text(json::serialize(song(60000, 1)));
  EXPECT_EQ(client.read_json().at("type"), "started");
  while (!client.read().binary) {
  }
  client.send_text(R"({"type":"cancel"})");
  const SongTranscript t = client.read_song();
  ASSERT_EQ(t.end.at("type"), "done") << json::serialize(t.end);
  EXPECT_EQ(t.end.at("reason"), "cancelled");
  EXPECT_LT(t.end.at("audio_ms").as_int64(), 60000);
  // Cancel with nothing running is an error; the connection stays usable.
  client.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(client.read_json().at("code"), "not_generating");
  expect_complete_song(client.generate(song(240, 2)), 240);
}

// `clients` songs of the same request and seed at once on `daemon`: each sends the packets a
// song alone sent, in the same order (nothing lost, reordered or changed by batching).
void expect_concurrent_songs_match_a_solo_run(const TestDaemon& daemon, int clients, std::int64_t song_ms) {
  const SongTranscript solo = WsClient(daemon.port()).generate(song(song_ms, 99));
  expect_complete_song(solo, song_ms);
  std::vector<std::future<SongTranscript>> runs;
  for (int i = 0; i < clients; ++i)
    runs.push_back(std::async(std::launch::async, [&] { return WsClient(daemon.port()).generate(song(song_ms, 99)); }));
  for (auto& run : runs) {
    const SongTranscript t = run.get();
    expect_complete_song(t, song_ms);
    EXPECT_TRUE(t.packets == solo.packets);
  }
}

TEST(Daemon, SixteenConcurrentSongsMatchASoloRun) {
  TestDaemon daemon;
  expect_concurrent_songs_match_a_solo_run(daemon, 16, 800);
}

// The same with streaming.first_chunk_frames as long as the chunks (16): songs of 38 frames make
// chunks of 16, 16 and 6 frames, decoded in calls shared with the other songs.
TEST(Daemon, ConcurrentSongsWithAWholeFirstChunkMatchASoloRun) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.streaming.first_chunk_frames = c.streaming.chunk_frames; });
  expect_concurrent_songs_match_a_solo_run(daemon, 8, 3000);
}

// A song alone sends its first chunk at once; with streaming.preroll_s it holds that much audio
// back first (its first progress then counts it), and its audio is the same.
TEST(Daemon, APrerollHoldsBackTheFirstAudioNotTheSong) {
  constexpr std::int64_t kSongMs = 3000;
  TestDaemon plain;
  const SongTranscript alone = WsClient(plain.port()).generate(song(kSongMs, 5));
  TestDaemon held([](daemon::DaemonConfig& c) { c.streaming.preroll_s = 1.0; });
  const SongTranscript t = WsClient(held.port()).generate(song(kSongMs, 5));
  expect_complete_song(t, kSongMs);
  ASSERT_FALSE(alone.progress.empty());
  ASSERT_FALSE(t.progress.empty());
  EXPECT_LT(alone.progress.front().at("audio_ms").as_int64(), 1000);
  EXPECT_GE(t.progress.front().at("audio_ms").as_int64(), 1000);
  EXPECT_TRUE(t.packets == alone.packets);
}

// streaming.first_chunk_frames as long as the chunks: a song's first audio is a whole chunk's (its
// frames less the decoder's one frame of look-ahead), where by default it is 4 frames'.
TEST(Daemon, AFirstChunkAsLongAsTheOthersSendsAWholeChunkFirst) {
  constexpr std::int64_t kSongMs = 3000;
  TestDaemon whole([](daemon::DaemonConfig& c) { c.streaming.first_chunk_frames = c.streaming.chunk_frames; });
  const SongTranscript t = WsClient(whole.port()).generate(song(kSongMs, 5));
  expect_complete_song(t, kSongMs);
  ASSERT_FALSE(t.progress.empty());
  EXPECT_EQ(t.progress.front().at("audio_ms").as_int64(), (whole.config().streaming.chunk_frames - 1) * 80);
}

TEST(Daemon, BadClientsGetClearErrorsAndOthersKeepStreaming) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.server.max_message_bytes = 1024; });
  WsClient bystander(daemon.port());
  bystander.send_text(json::serialize(song(2000, 3)));

  WsClient client(daemon.port());
  client.send_text("{not json");
  EXPECT_EQ(client.read_json().at("code"), "bad_json");
  client.send_text(R"({"type":"dance"})");
  EXPECT_EQ(client.read_json().at("code"), "unknown_type");
  client.send_text(R"({"type":"generate","tags":"x","lyrics":"y","topk":"many"})");
  const auto bad_type = client.read_json();
  EXPECT_EQ(bad_type.at("code"), "bad_type");
  EXPECT_NE(std::string(bad_type.at("message").as_string()).find("'topk'"), std::string::npos);
  client.send_text(R"({"type":"generate","tags":"x","lyrics":"y","max_audio_length_ms":999999999})");
  EXPECT_EQ(client.read_json().at("code"), "out_of_range");

  WsClient oversized(daemon.port());
  oversized.send_text(std::string(R"({"type":"generate","tags":")") + std::string(2000, 'a') + R"(","lyrics":""})");
  EXPECT_THROW(oversized.read(), boost::system::system_error);
  EXPECT_EQ(oversized.close_reason().code, websocket::close_code::too_big);

  WsClient binary(daemon.port());
  binary.send_binary("\x01\x02");
  EXPECT_EQ(binary.read_json().at("code"), "binary_not_allowed");
  EXPECT_THROW(binary.read(), boost::system::system_error);
  EXPECT_EQ(binary.close_reason().code, websocket::close_code::policy_error);

  WsClient dropped(daemon.port());
  dropped.send_text(json::serialize(song(60000, 4)));
  json::object first_message = dropped.read_json();
  while (first_message.at("type") == "queued") first_message = dropped.read_json();  // a slow machine
  EXPECT_EQ(first_message.at("type"), "started");
  dropped.abort();

  expect_complete_song(bystander.read_song(), 2000);
  expect_complete_song(client.generate(song(240, 5)), 240);
}

TEST(Daemon, SlowReaderIsPausedThenClosed) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.send_queue_messages = 8;
    c.server.slow_reader_timeout_s = 0.5;
    c.server.socket_send_buffer_bytes = 4096;
  });
  constexpr int kTinyReceiveBuffer = 4096;
  WsClient slow(daemon.port(), "/v1/stream", {}, kTinyReceiveBuffer);
  slow.send_text(json::serialize(song(60000, 6)));
  // Stop reading. The daemon pauses the song when the queue fills and closes it after the timeout.
  const auto deadline = std::chrono::steady_clock::now() + kClientDeadline;
  std::optional<double> closes;
  while (std::chrono::steady_clock::now() < deadline) {
    closes = metric_value(http_request(daemon.port(), http::verb::get, "/metrics").body,
                          "heartstream_slow_reader_closes_total");
    if (closes.value_or(0) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(closes, 1.0);
  // Draining now ends in the close (or a reset, if the grace period ran out first).
  EXPECT_THROW(
      while (true) slow.read(), boost::system::system_error);
  // The song was ended, not left running, and the daemon serves others.
  WsClient other(daemon.port());
  expect_complete_song(other.generate(song(240, 7)), 240);
  EXPECT_EQ(metric_value(http_request(daemon.port(), http::verb::get, "/metrics").body, "heartstream_sessions_active"),
            0.0);
}

TEST(Daemon, BearerTokenWhenConfigured) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.server.auth_token = "s3cret"; });
  EXPECT_THROW(WsClient(daemon.port()), boost::system::system_error);
  EXPECT_THROW(WsClient(daemon.port(), "/v1/stream", {{"Authorization", "Bearer wrong"}}), boost::system::system_error);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/metrics").status, 401u);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/v1/info").status, 401u);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/healthz").status, 200u);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/metrics", {}, {{"Authorization", "Bearer s3cret"}}).status, 200u);
  WsClient with_header(daemon.port(), "/v1/stream", {{"Authorization", "Bearer s3cret"}});
  expect_complete_song(with_header.generate(song(240, 1)), 240);
  WsClient with_query(daemon.port(), "/v1/stream?token=s3cret");
  expect_complete_song(with_query.generate(song(240, 1)), 240);
}

TEST(Daemon, BusyBeyondMaxSessionsAndTheQueue) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.max_sessions = 1;
    c.server.queue_limit = 0;
  });
  WsClient first(daemon.port());
  first.send_text(json::serialize(song(60000, 1)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  WsClient second(daemon.port());
  second.send_text(json::serialize(song(240, 1)));
  const json::object busy = second.read_json();
  EXPECT_EQ(busy.at("code"), "busy");
  EXPECT_NE(std::string(busy.at("message").as_string()).find("server.queue_limit"), std::string::npos);
  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
}

TEST(Daemon, ShutdownEndsEverySongWithAMessage) {
  TestDaemon daemon;
  WsClient client(daemon.port());
  client.send_text(json::serialize(song(60000, 1)));
  EXPECT_EQ(client.read_json().at("type"), "started");
  std::thread stopper([&] { daemon.shutdown(); });
  const SongTranscript t = client.read_song();
  // Reading on answers the daemon's close frame, which lets its shutdown finish.
  EXPECT_THROW(client.read(), boost::system::system_error);
  stopper.join();
  EXPECT_EQ(t.end.at("type"), "error");
  EXPECT_EQ(t.end.at("code"), "shutdown");
  EXPECT_EQ(client.close_reason().code, websocket::close_code::going_away);
}

TEST(Daemon, HttpEndpoints) {
  TestDaemon daemon;
  const auto health = http_request(daemon.port(), http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, "ok\n");
  const auto info = http_request(daemon.port(), http::verb::get, "/v1/info");
  ASSERT_EQ(info.status, 200u);
  const json::object o = json::parse(info.body).as_object();
  EXPECT_EQ(o.at("version"), "demo");
  EXPECT_EQ(o.at("device"), "cpu");
  EXPECT_EQ(o.at("precision"), "fp32");
  EXPECT_EQ(o.at("model"), "HeartMuLa-oss-demo on cpu (fp32) + HeartCodec-oss on cpu (fp32)");
  EXPECT_EQ(o.at("limits").at("max_sessions"), 16);
  EXPECT_EQ(o.at("limits").at("queue_limit"), 32);
  EXPECT_EQ(o.at("realtime_headroom"), 0.8);
  EXPECT_EQ(o.at("load"), (json::object{{"running", 0}, {"queued", 0}}));
  const auto metrics = http_request(daemon.port(), http::verb::get, "/metrics").body;
  for (const char* name : {"heartstream_sessions_active", "heartstream_sessions_running", "heartstream_slot_occupancy",
                           "heartstream_queue_depth", "heartstream_song_lag_seconds_max",
                           "heartstream_admission_predicted_round_seconds", "heartstream_round_seconds_count",
                           "heartstream_round_songs_count", "heartstream_song_lag_seconds_count",
                           "heartstream_frames_generated_total",
                           "heartstream_frames_per_second", "heartstream_time_to_first_audio_seconds_count",
                           "heartstream_real_time_factor_count", "heartstream_bytes_sent_total"})
    EXPECT_TRUE(metric_value(metrics, name)) << name;
  const auto page = http_request(daemon.port(), http::verb::get, "/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/../CMakeLists.txt").status, 404u);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/nope.js").status, 404u);
}

TEST(Daemon, PostGenerateStreamsOggOpus) {
  TestDaemon daemon;
  const auto res = http_request(daemon.port(), http::verb::post, "/v1/generate",
                                R"({"tags":"piano","lyrics":"la","max_audio_length_ms":1000,"seed":5})");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.content_type, "audio/ogg");
  EXPECT_EQ(res.transfer_encoding, "chunked");
  const DecodedOggOpus ogg = decode_ogg_opus(res.body);  // libopusfile
  EXPECT_EQ(ogg.audio.channels, 2);
  EXPECT_GT(ogg.pre_skip, 0);
  const std::int64_t audio_samples = 13 * kFrameMs * kSamplesPerMs;  // 1 + 1000/80 frames
  EXPECT_EQ(ogg.pcm_total, audio_samples);
  EXPECT_EQ(ogg.audio.frames(), audio_samples);
  const OggPages walk = ogg_pages({reinterpret_cast<const std::uint8_t*>(res.body.data()), res.body.size()});
  EXPECT_EQ(walk.sync_errors, 0);
  ASSERT_FALSE(walk.pages.empty());
  EXPECT_TRUE(walk.pages.front().bos);
  EXPECT_TRUE(walk.pages.back().eos);

  const auto bad = http_request(daemon.port(), http::verb::post, "/v1/generate", R"({"tags":"x"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(json::parse(bad.body).at("code"), "missing_field");
}

// The audio/ogg body is sent page by page as the song is made: with playback pacing half a second
// ahead, a 60 s song cannot be complete when its first audio pages arrive, and those pages are
// whole and at most 200 ms of audio apart.
TEST(Daemon, PostGenerateSendsOggPagesWhileTheSongIsMade) {
  constexpr std::int64_t kMaxPageGapSamples = 200 * kSamplesPerMs;
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.streaming.lookahead_s = 0.5; });
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), daemon.port()});
  http::request<http::string_body> req{http::verb::post, "/v1/generate", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"tags":"piano","lyrics":"la","max_audio_length_ms":60000,"seed":5})";
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  OggPages walk;
  const auto audio_pages = [&] {
    return std::count_if(walk.pages.begin(), walk.pages.end(), [](const OggPage& p) { return p.granule > 0; });
  };
  while (!parser.is_done() && audio_pages() < 3) {
    http::read_some(stream, buffer, parser);
    const std::string& body = parser.get().body();
    walk = ogg_pages({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
  }
  EXPECT_FALSE(parser.is_done()) << "the whole song arrived at once";
  EXPECT_EQ(walk.sync_errors, 0);
  ASSERT_GE(audio_pages(), 3);
  EXPECT_TRUE(walk.pages.front().bos);
  for (std::size_t i = 3; i < walk.pages.size(); ++i) {
    EXPECT_FALSE(walk.pages[i].eos) << "page " << i;
    EXPECT_LE(walk.pages[i].granule - walk.pages[i - 1].granule, kMaxPageGapSamples) << "page " << i;
  }
  boost::beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
}

}  // namespace
}  // namespace hs::test
