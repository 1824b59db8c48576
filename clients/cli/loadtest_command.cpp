// `heartstream loadtest`: N WebSocket songs against a heartstreamd, session i starting i·S/N
// seconds into the run, each played back by a 1x listener in virtual time (clients/cli/
// loadtest_report.h). Prints p50/p95/p99/max of time to first audio, queueing, real-time factor and
// underruns, writes the JSON report with --out, and exits 1 when a song failed (an error event, a
// broken connection, a packet out of order or missing) or underran more than --max-underrun-s.
//   heartstream loadtest --url ws://127.0.0.1:8080 --sessions 64 --ramp-s 1 --length-ms 60000 --out load.json
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "clients/cli/commands.h"
#include "clients/cli/daemon_info.h"
#include "clients/cli/loadtest_report.h"
#include "clients/cli/run_report.h"
#include "clients/cli/song_trace.h"
#include "clients/cli/ws_client.h"
#include "engine/core/error.h"

namespace hs::cli {
namespace {

namespace json = boost::json;
namespace net = boost::asio;

constexpr std::int64_t kMinAudioLengthMs = 80;  // docs/protocol.md: one frame

struct LoadtestOptions {
  std::string url;
  std::string token;
  int sessions = 0;
  double ramp_s = 0;
  std::int64_t length_ms = 0;
  std::string tags = "piano,happy";
  std::string lyrics = "[verse] la la la\n[chorus] oh oh oh";
  std::optional<std::uint64_t> seed;           // song i: seed + i; none: the daemon picks
  std::optional<double> max_underrun_s;  // none: underruns are reported, not failed
  std::string out;
};

std::string command_line(const LoadtestOptions& o) {
  std::ostringstream c;
  c << "heartstream loadtest --url " << o.url << " --sessions " << o.sessions << " --ramp-s " << o.ramp_s
    << " --length-ms " << o.length_ms;
  if (o.seed) c << " --seed " << *o.seed;
  if (o.max_underrun_s) c << " --max-underrun-s " << *o.max_underrun_s;
  if (!o.token.empty()) c << " --token ...";
  if (!o.out.empty()) c << " --out " << std::filesystem::path(o.out).filename().string();
  return c.str();
}

json::object options_json(const LoadtestOptions& o) {
  return {{"sessions", o.sessions},
          {"ramp_s", o.ramp_s},
          {"length_ms", o.length_ms},
          {"tags", o.tags},
          {"lyrics", o.lyrics},
          {"seed", o.seed ? json::value(*o.seed) : json::value(nullptr)},
          {"max_underrun_s", o.max_underrun_s ? json::value(*o.max_underrun_s) : json::value(nullptr)}};
}

// A number as the user wrote it ("-1", "0.5"), for messages.
std::string as_written(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// The options that need no daemon; then the length against this daemon's limit.
void check_options(const LoadtestOptions& o) {
  if (o.sessions < 1) throw InvalidArgument("--sessions must be at least 1 (got " + std::to_string(o.sessions) + ")");
  if (!(o.ramp_s >= 0) || !std::isfinite(o.ramp_s))
    throw InvalidArgument("--ramp-s must be 0 or more seconds (got " + as_written(o.ramp_s) + ")");
  if (o.max_underrun_s && !(*o.max_underrun_s >= 0))
    throw InvalidArgument("--max-underrun-s must be 0 or more seconds (got " + as_written(*o.max_underrun_s) + ")");
}

void check_length(const LoadtestOptions& o, const json::object& info) {
  const std::int64_t limit = info.at("limits").at("max_audio_length_ms").to_number<std::int64_t>();
  if (o.length_ms < kMinAudioLengthMs || o.length_ms > limit)
    throw InvalidArgument("--length-ms " + std::to_string(o.length_ms) + " is outside this daemon's range " +
                          std::to_string(kMinAudioLengthMs) + " .. " + std::to_string(limit) +
                          " ms (generation.max_audio_length_ms_limit)");
}

class LoadTest {
 public:
  LoadTest(const LoadtestOptions& o, const StreamUrl& url) : o_(o), url_(url), signals_(ioc_, SIGINT, SIGTERM) {}

  // Runs every session; fills `records` (by session) and says whether a signal interrupted it.
  bool run(std::vector<SongRecord>& records) {
    records.resize(static_cast<std::size_t>(o_.sessions));
    signals_.async_wait([this](const boost::system::error_code& ec, int) { on_signal(ec); });
    start_ = SongClock::now();
    for (int i = 0; i < o_.sessions; ++i)
      workers_.emplace_back([this, i, &records](std::stop_token stop) { session(i, stop, records[i]); });
    ioc_.run();
    workers_.clear();
    return interrupted_;
  }

 private:
  json::object generate(int i) const {
    json::object g{{"type", "generate"}, {"tags", o_.tags}, {"lyrics", o_.lyrics}, {"max_audio_length_ms", o_.length_ms}};
    if (o_.seed) g["seed"] = *o_.seed + static_cast<std::uint64_t>(i);
    return g;
  }

  void session(int i, std::stop_token stop, SongRecord& record) {
    const auto offset = std::chrono::duration<double>(o_.ramp_s * i / o_.sessions);
    std::mutex m;
    std::unique_lock lock(m);
    std::condition_variable_any().wait_until(lock, stop, start_ + std::chrono::duration_cast<SongClock::duration>(offset),
                                              [] { return false; });
    if (stop.stop_requested()) {
      record = SongRecord{.index = i, .error_kind = "interrupted", .error = "not started: the run was interrupted"};
    } else {
      record = record_song(i, start_, trace_song(url_, o_.token, generate(i)));
    }
    if (++done_ == o_.sessions) net::post(ioc_, [this] { signals_.cancel(); });
  }

  void on_signal(const boost::system::error_code& ec) {
    if (ec) return;
    interrupted_ = true;  // each running song got the signal too and sends `cancel`
    for (std::jthread& w : workers_) w.request_stop();
    signals_.clear();  // a second signal ends the process
  }

  const LoadtestOptions& o_;
  const StreamUrl url_;
  net::io_context ioc_;
  net::signal_set signals_;
  SongClock::time_point start_;
  std::vector<std::jthread> workers_;
  std::atomic<int> done_ = 0;
  bool interrupted_ = false;
};

void run_loadtest(const LoadtestOptions& o) {
  check_options(o);
  const StreamUrl url = parse_stream_url(o.url);
  LoadReport report;
  report.daemon = fetch_daemon_info(url, o.token);
  check_length(o, report.daemon);
  report.date = utc_now();
  report.commit = current_commit();
  report.command = command_line(o);
  report.url = o.url;
  report.options = options_json(o);
  std::printf("loadtest: %d songs of %lld ms starting over %g s against %s\n", o.sessions,
              static_cast<long long>(o.length_ms), o.ramp_s, o.url.c_str());
  std::fflush(stdout);
  LoadTest load(o, url);
  report.interrupted = load.run(report.songs);
  report.summary = summarize_load(report.songs, o.max_underrun_s);
  std::fputs(summary_table(report.summary).c_str(), stdout);
  if (!o.out.empty()) {
    write_report(o.out, loadtest_json(report));
    std::printf("report: %s\n", o.out.c_str());
  }
  end_run("loadtest", report.interrupted, report.summary.failures);
}

}  // namespace

void add_loadtest_command(CLI::App& app) {
  auto opt = std::make_shared<LoadtestOptions>();
  CLI::App* cmd = app.add_subcommand(
      "loadtest", "Drive N songs against heartstreamd, play each back at 1x; report time to first audio, RTF, underruns");
  cmd->add_option("--url", opt->url, "The daemon's WebSocket: ws://HOST:PORT[/v1/stream]")->required();
  cmd->add_option("--sessions", opt->sessions, "Songs (N), one connection each")->required();
  cmd->add_option("--ramp-s", opt->ramp_s, "Seconds over which the songs start: song i at i*S/N")->required();
  cmd->add_option("--length-ms", opt->length_ms, "Each song's max_audio_length_ms")->required();
  cmd->add_option("--out", opt->out, "Write the JSON report here");
  cmd->add_option("--token", opt->token, "Bearer token (server.auth_token)");
  cmd->add_option("--tags", opt->tags, "Each song's style tags")->capture_default_str();
  cmd->add_option("--lyrics", opt->lyrics, "Each song's lyrics")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Song i gets seed + i (default: the daemon picks)");
  cmd->add_option("--max-underrun-s", opt->max_underrun_s,
                  "Fail when a song's listener waited longer than this in all (default: underruns are only reported)");
  cmd->callback([opt] { run_loadtest(*opt); });
}

}  // namespace hs::cli
