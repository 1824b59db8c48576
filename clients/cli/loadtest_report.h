// What `heartstream loadtest` makes of the songs it drove: each song played back by a 1x listener
// in virtual time (its underruns), per-song records, nearest-rank percentiles over the songs, the
// verdict, and the report as a table and as JSON. Pure functions of the songs' traces.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "clients/cli/song_trace.h"

namespace hs::cli {

// A listener who starts playing when the first packet arrives and plays at 1x: packet k is due
// when its first audible sample plays, max(0, k·960 − pre_skip) samples (48 kHz) after the start,
// plus the stalls so far; a packet that arrives later stalls playback until it does (one underrun,
// its wait added to the total and to every later due time).
struct Playback {
  double underrun_s = 0;
  std::int64_t underruns = 0;
  // Where in the song's audio the first stall came (seconds of audio played before it); none: no stall.
  std::optional<double> first_underrun_at_s;
};
// `arrival_s`: each packet's arrival in order, in seconds on any one clock.
Playback play_at_1x(std::span<const double> arrival_s, std::int64_t pre_skip);

// Nearest rank: the smallest value with at least p% of the values at or below it.
double percentile(std::vector<double> values, double p);

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};
// nullopt for no values.
std::optional<Percentiles> percentiles(const std::vector<double>& values);

struct SongRecord {
  int index = 0;        // session i, started i·ramp/N seconds into the run
  double start_s = 0;   // when its connection was opened, seconds into the run
  std::uint64_t seed = 0;
  std::int64_t pre_skip = 0;
  std::int64_t queued_events = 0;       // {"type":"queued"} messages
  std::int64_t first_queue_position = 0;  // 0: never queued
  double queued_ms = 0;                 // `generate` sent → `started`, when it was queued; else 0
  double ttfa_ms = 0;                   // `generate` sent → first packet; 0 without audio
  double rtf = 0;                       // (`started` → `done`) / audio_ms; 0 without audio
  Playback playback{};
  std::int64_t packets = 0;
  std::int64_t audio_received_ms = 0;  // packets × 20 ms
  std::int64_t audio_ms = 0;           // the daemon's `done`
  std::string reason{};
  double daemon_ttfa_ms = 0, daemon_rtf = 0;  // as `done` reported them
  std::string error_kind{};                   // empty: intact (song_trace.h)
  std::string error{};
};
// `run_start`: the run's zero on the trace's clock.
SongRecord record_song(int index, SongClock::time_point run_start, const SongTrace& trace);

struct LoadSummary {
  std::int64_t songs = 0, songs_ok = 0, songs_failed = 0, songs_queued = 0;
  std::map<std::string, std::int64_t> errors;  // by kind
  // Over the songs that ended intact.
  std::optional<Percentiles> ttfa_ms, queued_ms, rtf, underrun_s, underruns;
  double underrun_s_total = 0;
  std::vector<std::string> failures;  // why the run fails; empty: it passes
};
// Fails on any song with an error and, with `max_underrun_s`, on a song that waited longer.
LoadSummary summarize_load(const std::vector<SongRecord>& songs, std::optional<double> max_underrun_s);

struct LoadReport {
  std::string date;  // UTC, when the run started
  std::string commit;
  std::string command;
  std::string url;
  boost::json::object options;
  boost::json::object daemon;  // its /v1/info before the run
  std::vector<SongRecord> songs;
  LoadSummary summary;
  bool interrupted = false;
};

// The JSON report, one song per line.
std::string loadtest_json(const LoadReport& report);
// The summary for a terminal: p50/p95/p99/max per measure, then the errors by kind.
std::string summary_table(const LoadSummary& summary);

}  // namespace hs::cli
