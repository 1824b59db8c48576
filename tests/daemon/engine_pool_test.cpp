// Several engine workers in one daemon (model.devices, daemon/engine_pool.h), exercised on the CPU
// with the same device twice (the code paths of two GPUs without them): a new song goes to the
// worker that starts it at once, each worker queues its own songs, songs are numbered across the
// workers, /v1/info, /metrics and /readyz report each worker, and a song is the same whichever
// worker makes it. Every wait is on a message the daemon sends, never a sleep.
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <string>

#include "daemon/engine_pool.h"
#include "engine/backends/backend_factory.h"
#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

namespace hs::test {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::int64_t kLongSongMs = 60000;  // runs until the test cancels it
constexpr std::int64_t kSongMs = 800;


void two_cpu_workers_of_one_slot(daemon::DaemonConfig& c) {
  c.model.devices = {"cpu", "cpu"};
  c.server.max_sessions = 1;
  c.server.queue_limit = 1;
}

std::string scrape(unsigned short port) { return http_request(port, http::verb::get, "/metrics").body; }

double worker_metric(const std::string& text, const std::string& name, int worker) {
  return metric_value(text, "heartstream_worker_" + name + R"({device="cpu",worker=")" + std::to_string(worker) + "\"}")
      .value_or(-1.0);
}

TEST(EnginePool, SongsGoWhereTheyStartAtOnceAndEachWorkerQueuesItsOwn) {
  TestDaemon daemon(two_cpu_workers_of_one_slot);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/readyz").body,
            "cpu ready: 0/1 running, 0/1 queued; cpu ready: 0/1 running, 0/1 queued\n");

  // One slot per worker: the second song starts on the other worker instead of waiting.
  WsClient first(daemon.port());
  first.send_text(json::serialize(song_request(kLongSongMs, 1)));
  const json::object first_started = first.read_json();
  WsClient second(daemon.port());
  second.send_text(json::serialize(song_request(kLongSongMs, 2)));
  const json::object second_started = second.read_json();
  ASSERT_EQ(first_started.at("type"), "started") << json::serialize(first_started);
  ASSERT_EQ(second_started.at("type"), "started") << json::serialize(second_started);
  EXPECT_NE(first_started.at("id"), second_started.at("id"));

  const std::string busy_metrics = scrape(daemon.port());
  EXPECT_EQ(worker_metric(busy_metrics, "sessions_running", 0), 1.0);
  EXPECT_EQ(worker_metric(busy_metrics, "sessions_running", 1), 1.0);
  EXPECT_EQ(metric_value(busy_metrics, "heartstream_sessions_running"), 2.0);
  EXPECT_EQ(metric_value(busy_metrics, "heartstream_slot_occupancy"), 1.0);
  const json::value info = json::parse(http_request(daemon.port(), http::verb::get, "/v1/info").body);
  const json::array& workers = info.at("workers").as_array();
  ASSERT_EQ(workers.size(), 2u);
  for (const json::value& w : workers) {
    EXPECT_EQ(w.at("device"), "cpu");
    EXPECT_EQ(w.at("running"), 1);
    EXPECT_EQ(w.at("queued"), 0);
    EXPECT_EQ(w.at("model"), info.at("model"));
  }
  EXPECT_EQ(info.at("load"), (json::object{{"running", 2}, {"queued", 0}}));

  // Both busy: each worker queues one song, the next one is refused.
  WsClient third(daemon.port());
  third.send_text(json::serialize(song_request(kSongMs, 3)));
  EXPECT_EQ(third.read_json(), queued_message(1));
  WsClient fourth(daemon.port());
  fourth.send_text(json::serialize(song_request(kSongMs, 4)));
  EXPECT_EQ(fourth.read_json(), queued_message(1)) << "the first place in the other worker's queue";
  WsClient fifth(daemon.port());
  fifth.send_text(json::serialize(song_request(kSongMs, 5)));
  EXPECT_EQ(fifth.read_json().at("code"), "busy");
  const std::string full_metrics = scrape(daemon.port());
  EXPECT_EQ(worker_metric(full_metrics, "queue_depth", 0), 1.0);
  EXPECT_EQ(worker_metric(full_metrics, "queue_depth", 1), 1.0);
  EXPECT_EQ(metric_value(full_metrics, "heartstream_queue_depth"), 2.0);
  EXPECT_EQ(http_request(daemon.port(), http::verb::get, "/readyz").body,
            "cpu full: 1/1 running, 1/1 queued; cpu full: 1/1 running, 1/1 queued\n");

  // The long songs end: the queued ones start on their workers and play whole.
  for (WsClient* c : {&first, &second}) {
    c->send_text(R"({"type":"cancel"})");
    EXPECT_EQ(c->read_song().end.at("reason"), "cancelled");
  }
  std::set<std::string> ids{std::string(first_started.at("id").as_string()),
                            std::string(second_started.at("id").as_string())};
  for (WsClient* c : {&third, &fourth}) {
    const SongTranscript t = c->read_song();
    EXPECT_EQ(t.end.at("reason"), "length") << json::serialize(t.end);
    ids.insert(std::string(t.started.at("id").as_string()));
  }
  EXPECT_EQ(ids.size(), 4u) << "songs are numbered across the workers";
}

// Two songs at once land on the two workers (each its own copy of the models); both equal the
// same request on a daemon of one worker.
TEST(EnginePool, ASongIsTheSameOnEitherWorker) {
  const json::object request = song_request(kSongMs, 7);
  SongTranscript alone;
  {
    TestDaemon one_worker;
    alone = WsClient(one_worker.port()).generate(request);
  }
  TestDaemon daemon(two_cpu_workers_of_one_slot);
  auto a = std::async(std::launch::async, [&] { return WsClient(daemon.port()).generate(request); });
  auto b = std::async(std::launch::async, [&] { return WsClient(daemon.port()).generate(request); });
  const SongTranscript ta = a.get(), tb = b.get();
  EXPECT_TRUE(ta.queued.empty() && tb.queued.empty()) << "each started at once, on its own worker";
  ASSERT_FALSE(alone.packets.empty());
  EXPECT_TRUE(ta.packets == alone.packets);
  EXPECT_TRUE(tb.packets == alone.packets);
  const std::string metrics = scrape(daemon.port());
  EXPECT_EQ(metric_value(metrics, R"(heartstream_songs_total{outcome="length"})"), 2.0);
}

// "all" needs a GPU; a device that cannot run is an error naming model.devices.
TEST(EnginePool, AllDevicesNeedsAGpu) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present (all finds it)";
  daemon::ModelConfig model;
  model.devices = {"all"};
  try {
    daemon::worker_devices(model);
    FAIL() << "no error";
  } catch (const daemon::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "model.devices all: no CUDA device found (check the driver, nvidia-smi and CUDA_VISIBLE_DEVICES)");
  }
  model.devices = {"cpu", "cuda:1"};
  EXPECT_EQ(daemon::worker_devices(model), model.devices);
  model.devices.clear();
  model.device = "cuda:3";
  EXPECT_EQ(daemon::worker_devices(model), std::vector<std::string>{"cuda:3"});

  // A listed device that cannot run is named under model.devices.
  daemon::DaemonConfig config;
  config.model.devices = {"cpu", "cuda:2"};
  try {
    daemon::worker_configs(config);
    FAIL() << "no error";
  } catch (const daemon::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("model.devices cuda:2: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace hs::test
