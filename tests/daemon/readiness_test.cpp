// GET /readyz and the drain of SIGTERM (Server::drain), on the demo model: readiness follows the
// free session slots (a song that arrived during a round takes a slot but is not a queue), a drain
// refuses new songs while running ones finish, and the drain timeout ends a song still running
// with `shutdown`.
#include <gtest/gtest.h>

#include <future>

#include "daemon/config.h"
#include "daemon/engine_models.h"
#include "daemon/engine_worker.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

namespace hs::test {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

// Songs are paced this close to real time, so a song of a few seconds is still running when the
// test acts on it right after its `started`.
constexpr double kPacedLookaheadS = 0.2;
constexpr std::int64_t kPacedSongMs = 2000;
constexpr std::int64_t kLongSongMs = 60000;
constexpr double kShortDrainS = 1.0;

json::object song(std::int64_t max_audio_length_ms) {
  return {{"type", "generate"}, {"tags", "piano"}, {"lyrics", "[verse] la la"},
          {"max_audio_length_ms", max_audio_length_ms}, {"seed", 1}};
}

HttpResult readyz(unsigned short port) { return http_request(port, http::verb::get, "/readyz"); }

TEST(Readiness, ReadyzFollowsTheFreeSlotsAndQueuePlaces) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.max_sessions = 1;
    c.server.queue_limit = 1;
  });
  const HttpResult idle = readyz(daemon.port());
  EXPECT_EQ(idle.status, 200u);
  EXPECT_EQ(idle.body, "ready: 0/1 running, 0/1 queued\n");
  EXPECT_EQ(idle.content_type, "text/plain; charset=utf-8");

  WsClient client(daemon.port());
  client.send_text(json::serialize(song(kLongSongMs)));
  EXPECT_EQ(client.read_json().at("type"), "started");
  // A song sent now would wait: not ready, though the queue takes it.
  const HttpResult no_slot = readyz(daemon.port());
  EXPECT_EQ(no_slot.status, 503u);
  EXPECT_EQ(no_slot.body, "full: 1/1 running, 0/1 queued\n");
  WsClient waiting(daemon.port());
  waiting.send_text(json::serialize(song(kLongSongMs)));
  EXPECT_EQ(waiting.read_json(), (json::object{{"type", "queued"}, {"position", 1}}));
  const HttpResult full = readyz(daemon.port());
  EXPECT_EQ(full.status, 503u);
  EXPECT_EQ(full.body, "full: 1/1 running, 1/1 queued\n");
  // Liveness is not readiness.
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/healthz").status, 200u);

  waiting.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(waiting.read_song().end.at("reason"), "cancelled");
  EXPECT_EQ(readyz(daemon.port()).body, "full: 1/1 running, 0/1 queued\n");
  client.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(client.read_song().end.at("reason"), "cancelled");
  EXPECT_EQ(readyz(daemon.port()).body, "ready: 0/1 running, 0/1 queued\n");
}

// Holds the worker's thread in the middle of a round (in on_started) until released.
class HeldStart final : public daemon::SongListener {
 public:
  explicit HeldStart(std::shared_future<void> release) : release_(std::move(release)) {}
  std::future<void> entered() { return entered_.get_future(); }

  void on_queued(int) override {}
  void on_started(const daemon::StartedInfo&) override {
    entered_.set_value();
    release_.wait();
  }
  void on_audio(std::span<const std::uint8_t>) override {}
  void on_progress(std::int64_t, double) override {}
  void on_done(const daemon::DoneInfo&) override {}
  void on_error(std::string_view, std::string_view) override {}
  bool ready() const override { return true; }

 private:
  std::promise<void> entered_;
  std::shared_future<void> release_;
};

// Songs sent while a round runs wait for it alone: a balancer that checks /readyz then (a slow
// round under load) must see the daemon ready while the slots hold them, full once they do not.
TEST(Readiness, SongsThatArriveDuringARoundTakeSlotsWithoutMakingTheDaemonFull) {
  daemon::ModelConfig model;
  model.path = demo_checkpoint().string();
  model.version = std::string(kDemoVersion);
  daemon::WorkerOptions options;
  options.max_sessions = 3;
  options.queue_limit = 3;
  options.realtime_headroom = std::nullopt;  // no admission model: slots alone
  daemon::Metrics metrics;
  daemon::EngineWorker worker(daemon::load_engine_models(model), options, metrics);
  const daemon::SongParams params = daemon::parse_generate_body(json::serialize(song(kLongSongMs)), {});

  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  auto first = std::make_shared<HeldStart>(released);
  std::future<void> held = first->entered();
  worker.submit(params, daemon::Container::Pcm, first);
  held.wait();  // the worker is inside the round that started the first song
  worker.submit(params, daemon::Container::Pcm, std::make_shared<HeldStart>(released));
  const daemon::EngineWorker::Readiness one_arrived = worker.readiness();
  EXPECT_TRUE(one_arrived.ready);
  EXPECT_EQ(one_arrived.reason, "ready: 1/3 running, 1/3 queued");
  worker.submit(params, daemon::Container::Pcm, std::make_shared<HeldStart>(released));
  const daemon::EngineWorker::Readiness slots_taken = worker.readiness();
  EXPECT_FALSE(slots_taken.ready);
  EXPECT_EQ(slots_taken.reason, "full: 1/3 running, 2/3 queued");
  release.set_value();
}

TEST(Readiness, DrainLetsARunningSongFinishAndRefusesNewOnes) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.streaming.lookahead_s = kPacedLookaheadS; });
  WsClient running(daemon.port());
  running.send_text(json::serialize(song(kPacedSongMs)));
  EXPECT_EQ(running.read_json().at("type"), "started");
  daemon.drain();

  const HttpResult draining = readyz(daemon.port());
  EXPECT_EQ(draining.status, 503u);
  EXPECT_EQ(draining.body, "draining: 1 song running\n");
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/healthz").status, 200u);
  WsClient late(daemon.port());
  late.send_text(json::serialize(song(240)));
  const json::object refused = late.read_json();
  EXPECT_EQ(refused.at("type"), "error");
  EXPECT_EQ(refused.at("code"), "shutdown");
  const HttpResult post = http_request(daemon.port(), http::verb::post, "/v1/generate", R"({"tags":"x","lyrics":"y"})");
  EXPECT_EQ(post.status, 503u);
  EXPECT_EQ(json::parse(post.body).at("code"), "shutdown");

  const SongTranscript t = running.read_song();
  ASSERT_EQ(t.end.at("type"), "done") << json::serialize(t.end);
  EXPECT_EQ(t.end.at("reason"), "length");
  // With the song done the drain is over: the daemon shuts down and closes the connections.
  EXPECT_THROW(
      while (true) running.read(), boost::system::system_error);
  EXPECT_EQ(running.close_reason().code, websocket::close_code::going_away);
  EXPECT_THROW(
      while (true) late.read(), boost::system::system_error);
  daemon.wait();
  const std::string metrics = daemon.metrics().prometheus_text();
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_total{outcome="length"})"), 1.0);
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_rejected_total{reason="draining"})"), 2.0);
}

TEST(Readiness, DrainTimeoutEndsALongSongWithShutdown) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.streaming.lookahead_s = kPacedLookaheadS;
    c.server.drain_timeout_s = kShortDrainS;
  });
  WsClient client(daemon.port());
  client.send_text(json::serialize(song(kLongSongMs)));
  EXPECT_EQ(client.read_json().at("type"), "started");
  daemon.drain();
  EXPECT_EQ(readyz(daemon.port()).body, "draining: 1 song running\n");  // well before the drain's end
  const SongTranscript t = client.read_song();
  EXPECT_EQ(t.end.at("type"), "error");
  EXPECT_EQ(t.end.at("code"), "shutdown");
  EXPECT_GT(t.packets.size(), 0u);
  EXPECT_THROW(
      while (true) client.read(), boost::system::system_error);
  EXPECT_EQ(client.close_reason().code, websocket::close_code::going_away);
  daemon.wait();
  EXPECT_EQ(metric_value(daemon.metrics().prometheus_text(), R"(heartstream_songs_total{outcome="shutdown"})"), 1.0);
}

TEST(Readiness, DrainTimeoutIsValidated) {
  EXPECT_EQ(daemon::parse_config("server: {drain_timeout_s: 2.5}", "test.yaml").server.drain_timeout_s, 2.5);
  EXPECT_EQ(daemon::parse_config("server: {drain_timeout_s: 0}", "test.yaml").server.drain_timeout_s, 0.0);
  try {
    daemon::parse_config("server: {drain_timeout_s: -1}", "test.yaml");
    FAIL() << "a negative drain timeout was accepted";
  } catch (const daemon::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("server.drain_timeout_s (from test.yaml:1): expected a number in [0, 3600]"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hs::test
