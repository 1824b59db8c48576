// What `heartstream soak` records: the daemon's memory and descriptors sampled over time, each
// song's outcome, and the verdict (no failed song; RSS and open descriptors flat over the second
// half of the run), written as a JSON report.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace hs::cli {

// One look at the daemon: resident memory (/proc/PID/status VmRSS) and open descriptors
// (/proc/PID/fd), `t_s` seconds into the run.
struct ProcessSample {
  double t_s = 0;
  std::int64_t rss_kb = 0;
  std::int64_t fds = 0;
  std::int64_t songs_running = 0;
  std::int64_t songs_done = 0;
};

// Samples process `pid` now; nullopt once it is gone (or unreadable).
std::optional<ProcessSample> sample_process(int pid, double t_s);

struct SongResult {
  int worker = 0;
  double start_s = 0;
  double wall_s = 0;
  std::uint64_t seed = 0;  // as the daemon reported it in `started`
  std::int64_t audio_ms = 0;
  std::int64_t packets = 0;
  std::string reason;  // the `done` reason, empty when there was none
  double ttfa_ms = 0;
  std::string error_kind;  // empty: the song finished intact
  std::string error;
};

// When the run fails: any failed song, or growth over the second half above these.
struct SoakLimits {
  double max_rss_mb_per_h = 0;  // least-squares slope of RSS over the second half's samples
  double max_fds_per_h = 0;     // same for open descriptors
  std::int64_t max_idle_fd_growth = 0;  // idle descriptors after the run minus before it
};

struct SoakSummary {
  std::int64_t songs_completed = 0;
  std::int64_t songs_failed = 0;
  std::map<std::string, std::int64_t> errors;  // by kind
  double rss_mb_per_h = 0;
  double fds_per_h = 0;
  std::int64_t idle_fd_growth = 0;
  std::vector<std::string> failures;  // why the run fails; empty: it passes
};

// `idle_before` / `idle_after`: samples taken with no connection of the tool open.
SoakSummary summarize(const std::vector<ProcessSample>& samples, const std::vector<SongResult>& songs,
                      const ProcessSample& idle_before, const ProcessSample& idle_after, const SoakLimits& limits);

struct SoakReport {
  std::string date;    // when the run started
  std::string commit;  // current_commit() at the start
  std::string command;
  boost::json::object config;
  std::vector<ProcessSample> samples;
  std::vector<SongResult> songs;
  ProcessSample idle_before;
  ProcessSample idle_after;
  SoakLimits limits;
  SoakSummary summary;
  bool interrupted = false;
};

// The report as JSON text, one sample or song per line (diffable when committed).
std::string report_json(const SoakReport& report);

}  // namespace hs::cli
