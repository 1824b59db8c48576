// GET /metrics after songs of every client-visible outcome (length, cancelled, rejected as busy and
// as invalid), parsed as the Prometheus text exposition format; the KV cache pool's blocks
// (model.kv_cache_gb) in use and its bounds.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/protocol.h"
#include "engine/model/lm/flavor.h"
#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

namespace hs::test {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::int64_t kShortSongMs = 400;
constexpr std::int64_t kLongSongMs = 60000;

json::object song(std::int64_t max_audio_length_ms) {
  return {{"type", "generate"}, {"tags", "piano"}, {"lyrics", "[verse] la la"},
          {"max_audio_length_ms", max_audio_length_ms}, {"seed", 3}};
}

// A scrape: samples by `name{labels}` as written, and the TYPE of each family.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
};

// The family a sample belongs to: its name, or for a histogram's series the name without
// _bucket / _sum / _count.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      if (types.contains(base) && types.at(base) == "histogram") return base;
    }
  }
  return name;
}

// Parses the text format 0.0.4: `# HELP name text`, `# TYPE name type`, and `name{labels} value`
// lines; every sample's family must have had its HELP and TYPE lines first. Fails the test on
// any other line.
Exposition parse_exposition(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? ([^ ]+))");
  Exposition out;
  std::set<std::string> helped;
  std::istringstream lines(text);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (std::regex_match(line, m, help)) {
      helped.insert(m[1]);
    } else if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(helped.contains(m[1])) << "TYPE before HELP: " << line;
      out.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, sample)) {
      const std::string name = m[1];
      const std::string family = family_of(name, out.types);
      EXPECT_TRUE(out.types.contains(family)) << "a sample without its TYPE line: " << line;
      EXPECT_TRUE(helped.contains(family)) << "a sample without its HELP line: " << line;
      std::size_t used = 0;
      const std::string value = m[3];
      double v = 0;
      EXPECT_NO_THROW(v = std::stod(value, &used)) << line;
      EXPECT_EQ(used, value.size()) << "not a number: " << line;
      out.samples[name + m[2].str()] = v;
    } else {
      ADD_FAILURE() << "not a Prometheus exposition line: \"" << line << "\"";
    }
  }
  return out;
}

double sample(const Exposition& e, const std::string& key) {
  const auto it = e.samples.find(key);
  EXPECT_NE(it, e.samples.end()) << key;
  return it == e.samples.end() ? -1 : it->second;
}

// Songs with audio in hand let their due codec chunks wait for others' (EngineWorker::decode_audio):
// a second song started while the first is well ahead of its listener shares its codec calls (more
// chunks than calls), and both still get exactly the same audio (same request, same seed). The
// second starts once the first is kLeadS ahead (a fixed wait left it too little on a loaded CI
// machine), beside it whatever real-time admission would say (its subject is Queue's).
TEST(Metrics, SongsAheadOfTheirListenersShareCodecCalls) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.server.realtime_headroom.reset(); });
  constexpr std::int64_t kSongMs = 20000;
  constexpr double kLeadS = 5.0;  // the codec's 3 s of slack (kCodecSlackS) and 2 s to share
  WsClient first(daemon.port());
  first.send_text(json::serialize(song(kSongMs)));
  SongTranscript one;
  std::chrono::steady_clock::time_point first_audio;
  const auto lead_s = [&] {
    const std::chrono::duration<double> played = std::chrono::steady_clock::now() - first_audio;
    return static_cast<double>(one.packets.size()) * daemon::kStreamFrameMs / 1000.0 - played.count();
  };
  while (one.packets.empty() || lead_s() < kLeadS) {
    const WsMessage m = first.read();
    if (!m.binary) {
      const json::value type = json::parse(m.data).at("type");
      ASSERT_TRUE(type == "started" || type == "progress")
          << "the first song ended before it was " << kLeadS << " s ahead of its listener: " << m.data;
      continue;
    }
    if (one.packets.empty()) first_audio = std::chrono::steady_clock::now();
    one.packets.push_back(m.data);
  }
  auto second = std::async(std::launch::async, [&] { return WsClient(daemon.port()).generate(song(kSongMs)); });
  SongTranscript rest = first.read_song();
  one.packets.insert(one.packets.end(), rest.packets.begin(), rest.packets.end());
  EXPECT_EQ(rest.end.at("reason"), "length");
  EXPECT_TRUE(second.get().packets == one.packets);
  const Exposition e = parse_exposition(http_request(daemon.port(), http::verb::get, "/metrics").body);
  EXPECT_GT(sample(e, "heartstream_codec_round_chunks_sum"), sample(e, "heartstream_codec_round_chunks_count"));
  // Every codec call's audio went to the encoder threads as the call ended (one or more calls a
  // round; the worker waited for the previous hand-over before each), and all but the last
  // hand-over's are encoded: it may still be on its way out.
  const double hand_overs = sample(e, "heartstream_encode_wait_seconds_count");
  EXPECT_GE(hand_overs, sample(e, "heartstream_codec_round_seconds_count"));
  EXPECT_GE(sample(e, "heartstream_encode_seconds_count"), hand_overs - 1);
  EXPECT_LE(sample(e, "heartstream_encode_seconds_count"), hand_overs);
  EXPECT_GT(sample(e, "heartstream_encode_seconds_sum"), 0.0);
}

// Songs at the look-ahead step in lockstep (daemon/pacing.h): three songs started together and
// paced for most of their length share their rounds (2.96-3.0 songs per round on the 2-core dev
// machine). Each song stepping once its own lead fell below the look-ahead (a83f86c) gave 2.2-2.4,
// and lockstep_band_s 0 gave 1.9; an engine slower than real time steps every song every round.
TEST(Metrics, SongsAtTheLookaheadStepTogether) {
  constexpr int kSongs = 3;
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.realtime_headroom.reset();
    c.streaming.lookahead_s = 1.0;
  });
  std::vector<std::future<SongTranscript>> songs;
  for (int i = 0; i < kSongs; ++i)
    songs.push_back(std::async(std::launch::async, [&] { return WsClient(daemon.port()).generate(song(6000)); }));
  for (auto& s : songs) EXPECT_EQ(s.get().end.at("reason"), "length");
  const Exposition e = parse_exposition(http_request(daemon.port(), http::verb::get, "/metrics").body);
  EXPECT_GE(sample(e, "heartstream_round_songs_sum") / sample(e, "heartstream_round_songs_count"), 0.9 * kSongs);
}

TEST(Metrics, CountSongsByOutcomeInPrometheusTextFormat) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.max_sessions = 1;
    c.server.queue_limit = 0;
  });
  WsClient client(daemon.port());
  EXPECT_EQ(client.generate(song(kShortSongMs)).end.at("reason"), "length");

  client.send_text(json::serialize(song(kLongSongMs)));
  EXPECT_EQ(client.read_json().at("type"), "started");
  while (!client.read().binary) {
  }
  // The running song holds KV blocks of the shared pool (two rows: CFG).
  const Exposition mid = parse_exposition(http_request(daemon.port(), http::verb::get, "/metrics").body);
  EXPECT_GE(sample(mid, "heartstream_kv_blocks_in_use"), 2);
  EXPECT_LT(sample(mid, "heartstream_kv_blocks_in_use"), sample(mid, "heartstream_kv_blocks_total"));
  WsClient other(daemon.port());
  other.send_text(json::serialize(song(kShortSongMs)));
  EXPECT_EQ(other.read_json().at("code"), "busy");
  client.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(client.read_song().end.at("reason"), "cancelled");

  client.send_text(R"({"type":"generate","tags":"x","lyrics":"y","topk":"many"})");
  EXPECT_EQ(client.read_json().at("code"), "bad_type");
  EXPECT_EQ(http_request(daemon.port(), http::verb::post, "/v1/generate", R"({"tags":"x"})").status, 400u);

  const HttpResult scrape = http_request(daemon.port(), http::verb::get, "/metrics");
  ASSERT_EQ(scrape.status, 200u);
  EXPECT_EQ(scrape.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const Exposition e = parse_exposition(scrape.body);

  EXPECT_EQ(sample(e, R"(heartstream_songs_total{outcome="length"})"), 1);
  EXPECT_EQ(sample(e, R"(heartstream_songs_total{outcome="cancelled"})"), 1);
  EXPECT_EQ(sample(e, R"(heartstream_songs_total{outcome="eos"})"), 0);
  EXPECT_EQ(sample(e, R"(heartstream_songs_total{outcome="rejected"})"), 3);
  EXPECT_EQ(sample(e, R"(heartstream_songs_total{outcome="failed"})"), 0);
  EXPECT_EQ(sample(e, R"(heartstream_songs_total{outcome="shutdown"})"), 0);
  EXPECT_EQ(sample(e, R"(heartstream_songs_rejected_total{reason="busy"})"), 1);
  EXPECT_EQ(sample(e, R"(heartstream_songs_rejected_total{reason="invalid"})"), 2);
  EXPECT_EQ(sample(e, R"(heartstream_songs_rejected_total{reason="draining"})"), 0);
  EXPECT_EQ(e.types.at("heartstream_songs_total"), "counter");

  EXPECT_EQ(sample(e, R"(heartstream_songs_queued_total{reason="max_sessions"})"), 0);
  EXPECT_EQ(sample(e, R"(heartstream_songs_queued_total{reason="realtime"})"), 0);
  EXPECT_EQ(sample(e, R"(heartstream_songs_queued_total{reason="kv_cache"})"), 0);

  // Both started songs made audio: one time to first audio, one real-time factor, one queue wait,
  // first frame, first chunk and largest lag each; every frame was one step, in rounds of one song.
  for (const std::string h : {"heartstream_time_to_first_audio_seconds", "heartstream_real_time_factor",
                              "heartstream_queue_wait_seconds", "heartstream_first_frame_seconds",
                              "heartstream_first_chunk_seconds", "heartstream_song_lag_seconds"}) {
    EXPECT_EQ(e.types.at(h), "histogram") << h;
    EXPECT_EQ(sample(e, h + "_count"), 2) << h;
    EXPECT_EQ(sample(e, h + R"(_bucket{le="+Inf"})"), 2) << h;
  }
  // The three parts of each time to first audio add up to it (rounding of the exposition aside).
  const double parts = sample(e, "heartstream_queue_wait_seconds_sum") + sample(e, "heartstream_first_frame_seconds_sum") +
                       sample(e, "heartstream_first_chunk_seconds_sum");
  EXPECT_NEAR(parts, sample(e, "heartstream_time_to_first_audio_seconds_sum"), 1e-6);
  EXPECT_GT(sample(e, "heartstream_first_chunk_seconds_sum"), 0);
  EXPECT_GE(sample(e, "heartstream_frame_step_seconds_count"), sample(e, "heartstream_frames_generated_total"));
  EXPECT_GT(sample(e, "heartstream_frames_generated_total"), kShortSongMs / 80);
  EXPECT_EQ(sample(e, "heartstream_round_seconds_count"), sample(e, "heartstream_frame_step_seconds_count"));
  EXPECT_EQ(sample(e, "heartstream_round_songs_sum"), sample(e, "heartstream_round_songs_count"));
  EXPECT_EQ(sample(e, "heartstream_sessions_active"), 0);
  EXPECT_EQ(sample(e, "heartstream_sessions_running"), 0);
  EXPECT_EQ(sample(e, "heartstream_slot_occupancy"), 0);
  EXPECT_EQ(sample(e, "heartstream_song_lag_seconds_max"), 0);
  EXPECT_GT(sample(e, "heartstream_admission_predicted_round_seconds"), 0);
  EXPECT_GE(sample(e, "heartstream_connections_open"), 1);  // this scrape's own, the WebSockets'
  EXPECT_EQ(sample(e, "heartstream_kv_blocks_in_use"), 0) << "the ended songs gave their blocks back";
  // The demo daemon runs on the CPU: no GPU memory series.
  EXPECT_FALSE(e.types.contains("heartstream_gpu_memory_peak_bytes") &&
               e.samples.contains(R"(heartstream_gpu_memory_peak_bytes{model="lm"})"));
}

// model.kv_cache_gb bounds the songs that run at once: with room for one 60 s song, a second one
// waits in the queue (songs_queued_total{reason="kv_cache"}) and starts when the first ends; a song
// longer than the whole pool starts and ends with an error naming the KV cache.
TEST(Metrics, AKvCacheWithRoomForOneSongMakesASecondWait) {
  const LlamaFlavor& f = llama_flavor("llama-demo");  // the demo LM: fp32 KV on the CPU
  const double block_bytes = 2.0 * f.layers * 16 * f.kv_heads * f.head_dim() * sizeof(float);
  TestDaemon daemon([&](daemon::DaemonConfig& c) {
    c.server.max_sessions = 2;
    // Room for one 60 s CFG song (2 x ~49 blocks for its prompt and frames), not for the 2 x 79 the
    // queue expects of one (a 512-position prompt allowance).
    c.model.kv_cache_gb = 250 * block_bytes / 1e9;
  });
  WsClient first(daemon.port()), second(daemon.port());
  first.send_text(json::serialize(song(kLongSongMs)));
  EXPECT_EQ(first.read_json().at("type"), "started");
  while (!first.read().binary) {
  }
  second.send_text(json::serialize(song(kLongSongMs)));
  const json::object queued = second.read_json();
  EXPECT_EQ(queued.at("type"), "queued") << json::serialize(queued);
  const Exposition e = parse_exposition(http_request(daemon.port(), http::verb::get, "/metrics").body);
  EXPECT_EQ(sample(e, R"(heartstream_songs_queued_total{reason="kv_cache"})"), 1);
  first.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(first.read_song().end.at("reason"), "cancelled");
  EXPECT_EQ(second.read_json().at("type"), "started");
  second.send_text(R"({"type":"cancel"})");
  EXPECT_EQ(second.read_song().end.at("reason"), "cancelled");

  const SongTranscript too_long = first.generate(song(10 * kLongSongMs));
  EXPECT_EQ(too_long.end.at("type"), "error");
  EXPECT_NE(std::string(too_long.end.at("message").as_string()).find("KV blocks"), std::string::npos)
      << json::serialize(too_long.end);
}

TEST(Metrics, AKvCacheTooSmallForOneBlockIsAConfigError) {
  try {
    TestDaemon daemon([](daemon::DaemonConfig& c) { c.model.kv_cache_gb = 1e-9; });
    FAIL() << "the daemon started without a KV block";
  } catch (const daemon::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.kv_cache_gb"), std::string::npos) << e.what();
  }
}

// Several engine workers' gauges: each labelled by worker and device, the daemon-wide ones their
// sums, the lag the largest, the predicted round the smallest measured (0: none measured yet).
TEST(Metrics, WorkerGaugesAndTheirDaemonWideSums) {
  daemon::Metrics m;
  const int a = m.add_worker("cuda:0"), b = m.add_worker("cuda:1");
  m.set_load(a, 3, 1, 4);
  m.set_load(b, 1, 0, 4);
  m.set_worst_lag(a, 0.5);
  m.set_worst_lag(b, 1.25);
  m.set_kv_blocks(a, 10, 100);
  m.set_kv_blocks(b, 5, 100);
  Exposition e = parse_exposition(m.prometheus_text());
  EXPECT_EQ(e.samples.at("heartstream_admission_predicted_round_seconds"), 0) << "nothing measured";
  m.set_predicted_round(a, 0.04);
  e = parse_exposition(m.prometheus_text());
  EXPECT_EQ(e.samples.at("heartstream_admission_predicted_round_seconds"), 0.04) << "one worker measured";
  m.set_predicted_round(b, 0.03);
  m.set_gpu_memory_peak_bytes(b, "lm", 7);
  e = parse_exposition(m.prometheus_text());
  EXPECT_EQ(e.samples.at(R"(heartstream_worker_sessions_running{device="cuda:0",worker="0"})"), 3);
  EXPECT_EQ(e.samples.at(R"(heartstream_worker_queue_depth{device="cuda:1",worker="1"})"), 0);
  EXPECT_EQ(e.samples.at(R"(heartstream_worker_slot_occupancy{device="cuda:0",worker="0"})"), 0.75);
  EXPECT_EQ(e.samples.at(R"(heartstream_worker_song_lag_seconds_max{device="cuda:1",worker="1"})"), 1.25);
  EXPECT_EQ(e.samples.at(R"(heartstream_worker_kv_blocks_in_use{device="cuda:0",worker="0"})"), 10);
  EXPECT_EQ(e.samples.at(R"(heartstream_gpu_memory_peak_bytes{device="cuda:1",model="lm",worker="1"})"), 7);
  EXPECT_EQ(e.samples.at("heartstream_sessions_running"), 4);
  EXPECT_EQ(e.samples.at("heartstream_sessions_active"), 5);
  EXPECT_EQ(e.samples.at("heartstream_queue_depth"), 1);
  EXPECT_EQ(e.samples.at("heartstream_slot_occupancy"), 0.5);
  EXPECT_EQ(e.samples.at("heartstream_song_lag_seconds_max"), 1.25);
  EXPECT_EQ(e.samples.at("heartstream_admission_predicted_round_seconds"), 0.03);
  EXPECT_EQ(e.samples.at("heartstream_kv_blocks_in_use"), 15);
  EXPECT_EQ(e.samples.at("heartstream_kv_blocks_total"), 200);
}

}  // namespace
}  // namespace hs::test
