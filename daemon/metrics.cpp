#include "daemon/metrics.h"

#include <algorithm>
#include <sstream>

namespace hs::daemon {
namespace {

constexpr std::string_view kPrefix = "heartstream_";

void header(std::ostringstream& out, std::string_view name, std::string_view type, std::string_view help) {
  out << "# HELP " << kPrefix << name << ' ' << help << "\n# TYPE " << kPrefix << name << ' ' << type << '\n';
}

template <class T>
void metric(std::ostringstream& out, std::string_view name, std::string_view type, std::string_view help, T value) {
  header(out, name, type, help);
  out << kPrefix << name << ' ' << value << '\n';
}

}  // namespace

void Metrics::add_frames(std::int64_t n, Clock::time_point now) {
  frames_total_.fetch_add(n);
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
  std::lock_guard lock(mutex_);
  const auto slot = static_cast<std::size_t>(second) % frames_per_second_.size();
  if (second_of_slot_[slot] != second) {
    second_of_slot_[slot] = second;
    frames_per_second_[slot] = 0;
  }
  frames_per_second_[slot] += n;
}

void Metrics::observe_ttfa(double seconds) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < kTtfaBucketsS.size(); ++i)
    if (seconds <= kTtfaBucketsS[i]) ++ttfa_buckets_[i];
  ++ttfa_count_;
  ttfa_sum_s_ += seconds;
}

void Metrics::song_finished(std::string_view reason, double rtf) {
  std::lock_guard lock(mutex_);
  if (reason == "eos") ++songs_eos_;
  if (reason == "length") ++songs_length_;
  if (reason == "cancelled") ++songs_cancelled_;
  ++rtf_count_;
  rtf_sum_ += rtf;
  rtf_last_ = rtf;
}

std::string Metrics::prometheus_text(Clock::time_point now) const {
  std::ostringstream out;
  metric(out, "sessions_active", "gauge", "Songs generating or paused now.", sessions_active_.load());
  metric(out, "queue_depth", "gauge", "Accepted songs waiting for the engine worker.", queue_depth_.load());
  metric(out, "frames_generated_total", "counter", "Code frames (80 ms of audio each) generated.", frames_total_.load());
  metric(out, "bytes_sent_total", "counter", "Audio and message bytes written to clients.", bytes_sent_.load());
  metric(out, "songs_failed_total", "counter", "Songs ended by an engine error.", songs_failed_.load());
  metric(out, "slow_reader_closes_total", "counter", "Connections closed because the client stopped reading.",
         slow_reader_closes_.load());
  metric(out, "rejected_busy_total", "counter", "Requests refused with `busy` (max_sessions reached).",
         rejected_busy_.load());

  std::lock_guard lock(mutex_);
  // The last kRateWindowS whole seconds (the current, partial second is left out).
  const auto current = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
  std::int64_t window_frames = 0;
  for (std::size_t slot = 0; slot < frames_per_second_.size(); ++slot) {
    const auto age = current - second_of_slot_[slot];
    if (age >= 1 && age <= kRateWindowS) window_frames += frames_per_second_[slot];
  }
  const std::int64_t window_s = std::min<std::int64_t>(kRateWindowS, std::max<std::int64_t>(current, 1));
  metric(out, "frames_per_second", "gauge", "Frames generated per second over the last 10 s.",
         static_cast<double>(window_frames) / static_cast<double>(window_s));

  header(out, "time_to_first_audio_seconds", "histogram", "From accepting a song to its first audio bytes.");
  for (std::size_t i = 0; i < kTtfaBucketsS.size(); ++i)
    out << kPrefix << "time_to_first_audio_seconds_bucket{le=\"" << kTtfaBucketsS[i] << "\"} " << ttfa_buckets_[i] << '\n';
  out << kPrefix << "time_to_first_audio_seconds_bucket{le=\"+Inf\"} " << ttfa_count_ << '\n'
      << kPrefix << "time_to_first_audio_seconds_sum " << ttfa_sum_s_ << '\n'
      << kPrefix << "time_to_first_audio_seconds_count " << ttfa_count_ << '\n';

  header(out, "real_time_factor", "summary", "Generation time / audio time of finished songs (< 1: faster than real time).");
  out << kPrefix << "real_time_factor_sum " << rtf_sum_ << '\n' << kPrefix << "real_time_factor_count " << rtf_count_ << '\n';
  metric(out, "real_time_factor_last", "gauge", "Real-time factor of the last finished song.", rtf_last_);

  header(out, "songs_finished_total", "counter", "Songs that ended normally, by reason.");
  out << kPrefix << "songs_finished_total{reason=\"eos\"} " << songs_eos_ << '\n'
      << kPrefix << "songs_finished_total{reason=\"length\"} " << songs_length_ << '\n'
      << kPrefix << "songs_finished_total{reason=\"cancelled\"} " << songs_cancelled_ << '\n';
  return out.str();
}

}  // namespace hs::daemon
