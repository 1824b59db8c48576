#include "clients/cli/soak_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "clients/cli/run_report.h"

namespace hs::cli {
namespace {

namespace json = boost::json;
constexpr double kKbPerMb = 1024.0;
constexpr double kSecondsPerHour = 3600.0;

std::optional<std::int64_t> vm_rss_kb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(line.find_first_not_of(" \t", 6)));
  return std::nullopt;
}

std::optional<std::int64_t> open_fds(int pid) {
  std::error_code ec;
  std::int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  if (ec) return std::nullopt;
  return n;
}

// Least-squares slope of value(sample) per hour over the samples of the run's second half.
template <typename Value>
double second_half_slope_per_h(const std::vector<ProcessSample>& samples, Value value) {
  if (samples.size() < 2) return 0;
  const double half_s = samples.back().t_s / 2;
  double n = 0, st = 0, sv = 0, stt = 0, stv = 0;
  for (const ProcessSample& s : samples) {
    if (s.t_s < half_s) continue;
    const double v = value(s);
    n += 1;
    st += s.t_s;
    sv += v;
    stt += s.t_s * s.t_s;
    stv += s.t_s * v;
  }
  const double denom = n * stt - st * st;
  if (n < 2 || denom <= 0) return 0;
  return (n * stv - st * sv) / denom * kSecondsPerHour;
}

json::object sample_json(const ProcessSample& s) {
  return {{"t_s", std::round(s.t_s * 10) / 10}, {"rss_kb", s.rss_kb}, {"fds", s.fds},
          {"songs_running", s.songs_running}, {"songs_done", s.songs_done}};
}

json::object song_json(const SongResult& s) {
  json::object o{{"worker", s.worker},         {"start_s", std::round(s.start_s * 10) / 10},
                 {"wall_s", std::round(s.wall_s * 100) / 100}, {"seed", s.seed}, {"audio_ms", s.audio_ms},
                 {"packets", s.packets},       {"reason", s.reason},
                 {"ttfa_ms", std::round(s.ttfa_ms * 10) / 10}};
  if (!s.error_kind.empty()) {
    o["error_kind"] = s.error_kind;
    o["error"] = s.error;
  }
  return o;
}

template <typename Field>
json::object first_last_max(const std::vector<ProcessSample>& samples, Field field) {
  if (samples.empty()) return {};
  std::int64_t max = field(samples.front());
  for (const ProcessSample& s : samples) max = std::max(max, field(s));
  return {{"first", field(samples.front())}, {"last", field(samples.back())}, {"max", max}};
}

}  // namespace

std::string one_decimal(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.1f", v);
  return buf.data();
}

std::optional<ProcessSample> sample_process(int pid, double t_s) {
  const std::optional<std::int64_t> rss = vm_rss_kb(pid);
  const std::optional<std::int64_t> fds = open_fds(pid);
  if (!rss || !fds) return std::nullopt;
  return ProcessSample{.t_s = t_s, .rss_kb = *rss, .fds = *fds};
}

SoakSummary summarize(const std::vector<ProcessSample>& samples, const std::vector<SongResult>& songs,
                      const ProcessSample& idle_before, const ProcessSample& idle_after, const SoakLimits& limits) {
  SoakSummary sum;
  for (const SongResult& s : songs) {
    if (s.error_kind.empty()) {
      ++sum.songs_completed;
    } else {
      ++sum.songs_failed;
      ++sum.errors[s.error_kind];
    }
  }
  sum.rss_mb_per_h =
      second_half_slope_per_h(samples, [](const ProcessSample& s) { return static_cast<double>(s.rss_kb) / kKbPerMb; });
  sum.fds_per_h = second_half_slope_per_h(samples, [](const ProcessSample& s) { return static_cast<double>(s.fds); });
  sum.idle_fd_growth = idle_after.fds - idle_before.fds;
  if (sum.songs_failed > 0) sum.failures.push_back(std::to_string(sum.songs_failed) + " song(s) failed");
  if (sum.songs_completed == 0) sum.failures.push_back("no song completed");
  if (sum.rss_mb_per_h > limits.max_rss_mb_per_h)
    sum.failures.push_back("RSS grew " + one_decimal(sum.rss_mb_per_h) + " MB/h over the second half (limit " +
                           one_decimal(limits.max_rss_mb_per_h) + ")");
  if (sum.fds_per_h > limits.max_fds_per_h)
    sum.failures.push_back("open descriptors grew " + one_decimal(sum.fds_per_h) + "/h over the second half (limit " +
                           one_decimal(limits.max_fds_per_h) + ")");
  if (sum.idle_fd_growth > limits.max_idle_fd_growth)
    sum.failures.push_back("the idle daemon holds " + std::to_string(sum.idle_fd_growth) +
                           " more descriptor(s) after the run (limit " + std::to_string(limits.max_idle_fd_growth) + ")");
  return sum;
}

std::string report_json(const SoakReport& r) {
  const SoakSummary& sum = r.summary;
  json::object summary{
      {"songs_completed", sum.songs_completed},
      {"songs_failed", sum.songs_failed},
      {"errors", counts_json(sum.errors)},
      {"rss_kb", first_last_max(r.samples, [](const ProcessSample& s) { return s.rss_kb; })},
      {"rss_mb_per_h_second_half", std::round(sum.rss_mb_per_h * 100) / 100},
      {"fds", first_last_max(r.samples, [](const ProcessSample& s) { return s.fds; })},
      {"fds_per_h_second_half", std::round(sum.fds_per_h * 100) / 100},
      {"idle_before", sample_json(r.idle_before)},
      {"idle_after", sample_json(r.idle_after)},
      {"idle_fd_growth", sum.idle_fd_growth},
      {"limits",
       {{"max_rss_mb_per_h", r.limits.max_rss_mb_per_h},
        {"max_fds_per_h", r.limits.max_fds_per_h},
        {"max_idle_fd_growth", r.limits.max_idle_fd_growth}}},
      {"interrupted", r.interrupted},
      {"passed", sum.failures.empty() && !r.interrupted},
      {"failures", strings_json(sum.failures)}};
  json::array samples, songs;
  for (const ProcessSample& s : r.samples) samples.emplace_back(sample_json(s));
  for (const SongResult& s : r.songs) songs.emplace_back(song_json(s));
  std::ostringstream out;
  write_report_head(out, r.date, r.commit, r.command);
  out << ",\n\"config\": ";
  write_json(out, r.config);
  out << ",\n\"summary\": ";
  write_json(out, summary);
  out << ",\n\"samples\": ";
  write_json_lines(out, samples);
  out << ",\n\"songs\": ";
  write_json_lines(out, songs);
  out << "\n}\n";
  return out.str();
}

}  // namespace hs::cli
