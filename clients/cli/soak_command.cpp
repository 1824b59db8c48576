// `heartstream soak`: keeps N songs running back to back against a heartstreamd for T seconds
// (each one read to its `done` and checked), samples the daemon's RSS and open descriptors every
// few seconds, writes a JSON report (clients/cli/soak_report.h) and exits 1 when a song failed or
// memory or descriptors grew over the second half of the run.
//   heartstream soak --url ws://127.0.0.1:8080 --daemon_pid 1234 --concurrency 16 --duration_s 1800 --out soak.json
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "clients/cli/commands.h"
#include "clients/cli/run_report.h"
#include "clients/cli/soak_report.h"
#include "clients/cli/song_trace.h"
#include "clients/cli/ws_client.h"
#include "engine/core/error.h"

namespace hs::cli {
namespace {

namespace json = boost::json;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr auto kIdleSettle = std::chrono::seconds(5);  // how long the daemon may take to close sockets
constexpr auto kIdlePoll = std::chrono::milliseconds(100);
constexpr int kInterruptedExit = 130;
constexpr auto kFailureBackoff = std::chrono::milliseconds(100);  // after a failed song: refusals come back at once

struct SoakOptions {
  std::string url;
  std::string token;
  int daemon_pid = 0;
  int concurrency = 4;
  double duration_s = 60;
  std::int64_t max_audio_length_ms = 15000;
  std::string tags = "piano,happy";
  std::string lyrics = "[verse] la la la\n[chorus] oh oh oh";
  double sample_every_s = 5;
  SoakLimits limits{.max_rss_mb_per_h = 32, .max_fds_per_h = 32, .max_idle_fd_growth = 0};
  std::string out;
};

std::string command_line(const SoakOptions& o) {
  std::ostringstream c;
  c << "heartstream soak --url " << o.url << " --daemon_pid PID --concurrency " << o.concurrency << " --duration_s "
    << o.duration_s << " --max_audio_length_ms " << o.max_audio_length_ms << " --sample_every_s " << o.sample_every_s
    << " --max_rss_mb_per_h " << o.limits.max_rss_mb_per_h << " --max_fds_per_h " << o.limits.max_fds_per_h
    << " --max_idle_fd_growth " << o.limits.max_idle_fd_growth << (o.token.empty() ? "" : " --token ...") << " --out "
    << std::filesystem::path(o.out).filename().string();
  return c.str();
}

json::object config_json(const SoakOptions& o) {
  return {{"url", o.url},
          {"concurrency", o.concurrency},
          {"duration_s", o.duration_s},
          {"max_audio_length_ms", o.max_audio_length_ms},
          {"tags", o.tags},
          {"lyrics", o.lyrics},
          {"sample_every_s", o.sample_every_s}};
}

// One song to its end, checked (clients/cli/song_trace.h).
SongResult run_song(const StreamUrl& url, const SoakOptions& o, const json::object& generate) {
  const SongTrace t = trace_song(url, o.token, generate);
  return SongResult{.seed = t.seed,
                    .audio_ms = t.audio_ms,
                    .packets = static_cast<std::int64_t>(t.packets.size()),
                    .reason = t.reason,
                    .ttfa_ms = t.daemon_ttfa_ms,
                    .error_kind = t.error_kind,
                    .error = t.error};
}

class Soak {
 public:
  explicit Soak(const SoakOptions& o) : o_(o), url_(parse_stream_url(o.url)), timer_(ioc_), signals_(ioc_, SIGINT, SIGTERM) {
    generate_ = {{"type", "generate"}, {"tags", o.tags}, {"lyrics", o.lyrics},
                 {"max_audio_length_ms", o.max_audio_length_ms}};
  }

  SoakReport run() {
    SoakReport report;
    report.date = utc_now();
    report.commit = current_commit();
    report.command = command_line(o_);
    report.config = config_json(o_);
    report.limits = o_.limits;
    report.idle_before = sample_or_throw(0);
    start_ = Clock::now();
    deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration_s));
    signals_.async_wait([this](const boost::system::error_code& ec, int) { on_signal(ec); });
    std::vector<std::jthread> workers;
    for (int w = 0; w < o_.concurrency; ++w) workers.emplace_back([this, w] { work(w); });
    tick();
    ioc_.run();
    workers.clear();
    if (isatty(STDOUT_FILENO)) std::printf("\n");
    report.samples = samples_;
    report.songs = songs_;
    report.interrupted = interrupted_;
    report.idle_after = idle_after(report.idle_before.fds);
    report.summary = summarize(report.samples, report.songs, report.idle_before, report.idle_after, o_.limits);
    if (daemon_gone_) report.summary.failures.push_back("the daemon (pid " + std::to_string(o_.daemon_pid) + ") is gone");
    return report;
  }

 private:
  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  ProcessSample sample_or_throw(double t_s) const {
    const std::optional<ProcessSample> s = sample_process(o_.daemon_pid, t_s);
    const std::string pid = std::to_string(o_.daemon_pid);
    if (!s) throw InvalidArgument("--daemon_pid " + pid + ": cannot read /proc/" + pid + "/status and /proc/" + pid + "/fd");
    return *s;
  }

  void work(int worker) {
    while (!stop_ && Clock::now() < deadline_) {
      ++running_;
      const double start_s = elapsed_s();
      SongResult r = run_song(url_, o_, generate_);
      r.worker = worker;
      r.start_s = start_s;
      r.wall_s = elapsed_s() - start_s;
      --running_;
      if (r.reason == "cancelled") stop_ = true;  // a signal cancelled the songs: end the run
      const bool failed = !r.error_kind.empty();
      {
        const std::scoped_lock lock(songs_mutex_);
        songs_.push_back(std::move(r));
      }
      if (failed) std::this_thread::sleep_for(kFailureBackoff);  // a refusing daemon is not flooded
    }
    if (++workers_done_ == o_.concurrency) net::post(ioc_, [this] { finish(); });
  }

  // Returns false once the daemon is gone.
  bool take_sample() {
    std::optional<ProcessSample> s = sample_process(o_.daemon_pid, elapsed_s());
    if (!s) {
      daemon_gone_ = stop_ = true;
      return false;
    }
    s->songs_running = running_;
    {
      const std::scoped_lock lock(songs_mutex_);
      s->songs_done = static_cast<std::int64_t>(songs_.size());
    }
    samples_.push_back(*s);
    progress(*s);
    return true;
  }

  void tick() {
    if (!take_sample()) return;
    timer_.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.sample_every_s)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !finished_) tick();  // a tick already due when finish() cancels the timer still runs
    });
  }

  void progress(const ProcessSample& s) const {
    if (!isatty(STDOUT_FILENO)) return;
    std::printf("\r[%5.0f/%.0f s] songs: %lld done, %d running; daemon RSS %.1f MB, %lld fds   ", s.t_s, o_.duration_s,
                static_cast<long long>(s.songs_done), static_cast<int>(s.songs_running),
                static_cast<double>(s.rss_kb) / 1024.0, static_cast<long long>(s.fds));
    std::fflush(stdout);
  }

  void finish() {
    finished_ = true;
    timer_.cancel();
    signals_.cancel();
    if (!daemon_gone_) take_sample();  // the last one, at the end of the last song
  }

  void on_signal(const boost::system::error_code& ec) {
    if (ec || finished_) return;
    if (interrupted_) std::_Exit(kInterruptedExit);
    interrupted_ = stop_ = true;  // each running song got the signal too and sends `cancel`
    signals_.async_wait([this](const boost::system::error_code& e, int) { on_signal(e); });
  }

  // The daemon with none of our connections open: polled until it holds no more descriptors than
  // before the run, or kIdleSettle passed (it closes sockets asynchronously).
  ProcessSample idle_after(std::int64_t fds_before) const {
    const auto until = Clock::now() + kIdleSettle;
    std::optional<ProcessSample> s = sample_process(o_.daemon_pid, elapsed_s());
    while (s && s->fds > fds_before && Clock::now() < until) {
      std::this_thread::sleep_for(kIdlePoll);
      s = sample_process(o_.daemon_pid, elapsed_s());
    }
    return s.value_or(ProcessSample{.t_s = elapsed_s()});
  }

  const SoakOptions& o_;
  const StreamUrl url_;
  json::object generate_;
  net::io_context ioc_;
  net::steady_timer timer_;
  net::signal_set signals_;
  Clock::time_point start_, deadline_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> running_ = 0;
  std::atomic<int> workers_done_ = 0;
  bool interrupted_ = false;
  bool finished_ = false;  // every worker has ended
  bool daemon_gone_ = false;
  std::mutex songs_mutex_;
  std::vector<SongResult> songs_;
  std::vector<ProcessSample> samples_;
};

void run_soak(const SoakOptions& o) {
  if (o.concurrency < 1) throw InvalidArgument("--concurrency must be at least 1");
  if (!(o.duration_s > 0)) throw InvalidArgument("--duration_s must be positive");
  if (!(o.sample_every_s > 0)) throw InvalidArgument("--sample_every_s must be positive");
  Soak soak(o);
  const SoakReport report = soak.run();
  write_report(o.out, report_json(report));
  const SoakSummary& s = report.summary;
  const std::vector<ProcessSample>& samples = report.samples;
  std::printf("soak: %lld songs completed, %lld failed in %.0f s at concurrency %d\n",
              static_cast<long long>(s.songs_completed), static_cast<long long>(s.songs_failed),
              samples.empty() ? 0.0 : samples.back().t_s, o.concurrency);
  for (const auto& [kind, n] : s.errors) std::printf("  %s: %lld\n", kind.c_str(), static_cast<long long>(n));
  if (!samples.empty())
    std::printf("daemon RSS %.1f -> %.1f MB (%+.1f MB/h over the second half); fds %lld -> %lld (idle %lld -> %lld)\n",
                static_cast<double>(samples.front().rss_kb) / 1024.0, static_cast<double>(samples.back().rss_kb) / 1024.0,
                s.rss_mb_per_h, static_cast<long long>(samples.front().fds), static_cast<long long>(samples.back().fds),
                static_cast<long long>(report.idle_before.fds), static_cast<long long>(report.idle_after.fds));
  std::printf("report: %s\n", o.out.c_str());
  end_run("soak", report.interrupted, s.failures);
}

}  // namespace

void add_soak_command(CLI::App& app) {
  auto opt = std::make_shared<SoakOptions>();
  CLI::App* cmd = app.add_subcommand(
      "soak", "Keep N songs running against heartstreamd for T seconds; record its RSS, descriptors and song errors");
  cmd->add_option("--url", opt->url, "The daemon's WebSocket: ws://HOST:PORT[/v1/stream]")->required();
  cmd->add_option("--daemon_pid", opt->daemon_pid, "heartstreamd's process id (its /proc entries are sampled)")->required();
  cmd->add_option("--concurrency", opt->concurrency, "Songs running at once")->capture_default_str();
  cmd->add_option("--duration_s", opt->duration_s, "Seconds to start new songs for")->required();
  cmd->add_option("--max_audio_length_ms", opt->max_audio_length_ms, "Each song's length")->capture_default_str();
  cmd->add_option("--token", opt->token, "Bearer token (server.auth_token)");
  cmd->add_option("--tags", opt->tags, "Each song's style tags")->capture_default_str();
  cmd->add_option("--lyrics", opt->lyrics, "Each song's lyrics")->capture_default_str();
  cmd->add_option("--sample_every_s", opt->sample_every_s, "Seconds between samples of RSS and descriptors")
      ->capture_default_str();
  cmd->add_option("--max_rss_mb_per_h", opt->limits.max_rss_mb_per_h,
                  "Fail above this RSS slope over the second half (MB per hour)")
      ->capture_default_str();
  cmd->add_option("--max_fds_per_h", opt->limits.max_fds_per_h,
                  "Fail above this open-descriptor slope over the second half (per hour)")
      ->capture_default_str();
  cmd->add_option("--max_idle_fd_growth", opt->limits.max_idle_fd_growth,
                  "Fail when the idle daemon holds more than this many extra descriptors after the run")
      ->capture_default_str();
  cmd->add_option("--out", opt->out, "The JSON report")->required();
  cmd->callback([opt] { run_soak(*opt); });
}

}  // namespace hs::cli
