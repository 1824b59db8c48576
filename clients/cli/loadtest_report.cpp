#include "clients/cli/loadtest_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <boost/json.hpp>

#include "clients/cli/run_report.h"

namespace hs::cli {
namespace {

namespace json = boost::json;
constexpr double kSampleRateHz = 48000.0;
constexpr double kMsPerS = 1000.0;

double ms_between(SongClock::time_point from, SongClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double rounded(double v, double unit) { return std::round(v / unit) * unit; }

json::value percentiles_json(const std::optional<Percentiles>& p, double unit) {
  if (!p) return nullptr;
  return json::object{{"p50", rounded(p->p50, unit)},
                      {"p95", rounded(p->p95, unit)},
                      {"p99", rounded(p->p99, unit)},
                      {"max", rounded(p->max, unit)}};
}

json::object song_json(const SongRecord& s) {
  json::object o{{"index", s.index},
                 {"start_s", rounded(s.start_s, 0.001)},
                 {"seed", s.seed},
                 {"pre_skip", s.pre_skip},
                 {"queued_events", s.queued_events},
                 {"first_queue_position", s.first_queue_position},
                 {"queued_ms", rounded(s.queued_ms, 0.1)},
                 {"ttfa_ms", rounded(s.ttfa_ms, 0.1)},
                 {"rtf", rounded(s.rtf, 0.0001)},
                 {"underrun_s", rounded(s.playback.underrun_s, 0.001)},
                 {"underruns", s.playback.underruns},
                 {"first_underrun_at_s", s.playback.first_underrun_at_s
                                             ? json::value(rounded(*s.playback.first_underrun_at_s, 0.001))
                                             : json::value(nullptr)},
                 {"packets", s.packets},
                 {"audio_received_ms", s.audio_received_ms},
                 {"audio_ms", s.audio_ms},
                 {"reason", s.reason},
                 {"daemon_ttfa_ms", s.daemon_ttfa_ms},
                 {"daemon_rtf", s.daemon_rtf}};
  if (!s.error_kind.empty()) {
    o["error_kind"] = s.error_kind;
    o["error"] = s.error;
  }
  return o;
}

// Percentiles over one measure of the intact songs.
template <typename Measure>
std::optional<Percentiles> over_ok_songs(const std::vector<SongRecord>& songs, Measure measure) {
  std::vector<double> values;
  for (const SongRecord& s : songs)
    if (s.error_kind.empty()) values.push_back(measure(s));
  return percentiles(values);
}

std::string fixed(double v, int decimals) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*f", decimals, v);
  return buf.data();
}

}  // namespace

Playback play_at_1x(std::span<const double> arrival_s, std::int64_t pre_skip) {
  Playback p;
  if (arrival_s.empty()) return p;
  const double start_s = arrival_s.front();
  for (std::size_t k = 1; k < arrival_s.size(); ++k) {
    const auto offset_samples = std::max<std::int64_t>(0, static_cast<std::int64_t>(k) * kOpusPacketSamples - pre_skip);
    const double due_s = start_s + p.underrun_s + static_cast<double>(offset_samples) / kSampleRateHz;
    if (arrival_s[k] > due_s) {
      if (!p.first_underrun_at_s) p.first_underrun_at_s = static_cast<double>(offset_samples) / kSampleRateHz;
      p.underrun_s += arrival_s[k] - due_s;
      ++p.underruns;
    }
  }
  return p;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::optional<Percentiles> percentiles(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  return Percentiles{.p50 = percentile(values, 50),
                     .p95 = percentile(values, 95),
                     .p99 = percentile(values, 99),
                     .max = *std::max_element(values.begin(), values.end())};
}

SongRecord record_song(int index, SongClock::time_point run_start, const SongTrace& t) {
  SongRecord r{.index = index,
               .start_s = ms_between(run_start, t.sent) / kMsPerS,
               .seed = t.seed,
               .pre_skip = t.pre_skip,
               .queued_events = static_cast<std::int64_t>(t.queued.size()),
               .first_queue_position = t.queued.empty() ? 0 : t.queued.front().position,
               .packets = static_cast<std::int64_t>(t.packets.size()),
               .audio_received_ms = static_cast<std::int64_t>(t.packets.size()) * kOpusPacketMs,
               .audio_ms = t.audio_ms,
               .reason = t.reason,
               .daemon_ttfa_ms = t.daemon_ttfa_ms,
               .daemon_rtf = t.daemon_rtf,
               .error_kind = t.error_kind,
               .error = t.error};
  if (t.started && !t.queued.empty()) r.queued_ms = ms_between(t.sent, t.started_at);
  if (t.packets.empty()) return r;
  r.ttfa_ms = ms_between(t.sent, t.packets.front());
  if (t.started && t.audio_ms > 0) r.rtf = ms_between(t.started_at, t.ended) / static_cast<double>(t.audio_ms);
  std::vector<double> arrival_s;
  arrival_s.reserve(t.packets.size());
  for (const SongClock::time_point at : t.packets) arrival_s.push_back(ms_between(run_start, at) / kMsPerS);
  r.playback = play_at_1x(arrival_s, t.pre_skip);
  return r;
}

LoadSummary summarize_load(const std::vector<SongRecord>& songs, std::optional<double> max_underrun_s) {
  LoadSummary sum;
  sum.songs = static_cast<std::int64_t>(songs.size());
  std::int64_t over_limit = 0;
  double worst_s = 0;
  for (const SongRecord& s : songs) {
    if (s.error_kind.empty()) {
      ++sum.songs_ok;
    } else {
      ++sum.songs_failed;
      ++sum.errors[s.error_kind];
    }
    if (s.queued_events > 0) ++sum.songs_queued;
    sum.underrun_s_total += s.playback.underrun_s;
    worst_s = std::max(worst_s, s.playback.underrun_s);
    if (max_underrun_s && s.playback.underrun_s > *max_underrun_s) ++over_limit;
  }
  sum.ttfa_ms = over_ok_songs(songs, [](const SongRecord& s) { return s.ttfa_ms; });
  sum.queued_ms = over_ok_songs(songs, [](const SongRecord& s) { return s.queued_ms; });
  sum.rtf = over_ok_songs(songs, [](const SongRecord& s) { return s.rtf; });
  sum.underrun_s = over_ok_songs(songs, [](const SongRecord& s) { return s.playback.underrun_s; });
  sum.underruns = over_ok_songs(songs, [](const SongRecord& s) { return static_cast<double>(s.playback.underruns); });
  if (sum.songs_failed > 0) sum.failures.push_back(std::to_string(sum.songs_failed) + " song(s) failed");
  if (over_limit > 0)
    sum.failures.push_back(std::to_string(over_limit) + " song(s) underran more than " + fixed(*max_underrun_s, 3) +
                           " s (--max-underrun-s; the most: " + fixed(worst_s, 3) + " s)");
  return sum;
}

std::string loadtest_json(const LoadReport& r) {
  const LoadSummary& sum = r.summary;
  const json::object summary{{"songs", sum.songs},
                             {"songs_ok", sum.songs_ok},
                             {"songs_failed", sum.songs_failed},
                             {"songs_queued", sum.songs_queued},
                             {"errors", counts_json(sum.errors)},
                             {"percentiles_over", "songs_ok"},
                             {"ttfa_ms", percentiles_json(sum.ttfa_ms, 0.1)},
                             {"queued_ms", percentiles_json(sum.queued_ms, 0.1)},
                             {"rtf", percentiles_json(sum.rtf, 0.0001)},
                             {"underrun_s", percentiles_json(sum.underrun_s, 0.001)},
                             {"underruns", percentiles_json(sum.underruns, 1)},
                             {"underrun_s_total", rounded(sum.underrun_s_total, 0.001)},
                             {"interrupted", r.interrupted},
                             {"passed", sum.failures.empty() && !r.interrupted},
                             {"failures", strings_json(sum.failures)}};
  json::array songs;
  for (const SongRecord& s : r.songs) songs.emplace_back(song_json(s));
  std::ostringstream out;
  write_report_head(out, r.date, r.commit, r.command);
  out << ",\n\"url\": " << json::serialize(json::value(r.url)) << ",\n\"options\": ";
  write_json(out, r.options);
  out << ",\n\"daemon\": ";
  write_json(out, r.daemon);
  out << ",\n\"summary\": ";
  write_json(out, summary);
  out << ",\n\"songs\": ";
  write_json_lines(out, songs);
  out << "\n}\n";
  return out.str();
}

std::string summary_table(const LoadSummary& sum) {
  struct Row {
    const char* name;
    const std::optional<Percentiles>& p;
    int decimals;
  };
  const std::array<Row, 5> rows{{{"ttfa_ms", sum.ttfa_ms, 1},
                                 {"queued_ms", sum.queued_ms, 1},
                                 {"rtf", sum.rtf, 3},
                                 {"underrun_s", sum.underrun_s, 3},
                                 {"underruns", sum.underruns, 0}}};
  std::ostringstream out;
  out << "loadtest: " << sum.songs << " songs, " << sum.songs_ok << " ok, " << sum.songs_failed << " failed, "
      << sum.songs_queued << " queued; underrun total " << fixed(sum.underrun_s_total, 3) << " s\n";
  std::array<char, 128> line{};
  std::snprintf(line.data(), line.size(), "%-12s %10s %10s %10s %10s\n", "(ok songs)", "p50", "p95", "p99", "max");
  out << line.data();
  for (const Row& row : rows) {
    if (!row.p) {
      std::snprintf(line.data(), line.size(), "%-12s %10s %10s %10s %10s\n", row.name, "-", "-", "-", "-");
    } else {
      std::snprintf(line.data(), line.size(), "%-12s %10s %10s %10s %10s\n", row.name,
                    fixed(row.p->p50, row.decimals).c_str(), fixed(row.p->p95, row.decimals).c_str(),
                    fixed(row.p->p99, row.decimals).c_str(), fixed(row.p->max, row.decimals).c_str());
    }
    out << line.data();
  }
  for (const auto& [kind, n] : sum.errors) out << "errors " << kind << ": " << n << "\n";
  return out.str();
}

}  // namespace hs::cli
