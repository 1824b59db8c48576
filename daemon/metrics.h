// Daemon-wide counters for GET /metrics (Prometheus text format 0.0.4). Updated from the engine
// worker and the network threads; every method is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace hs::daemon {

class Metrics {
 public:
  using Clock = std::chrono::steady_clock;

  // Upper bounds of the time-to-first-audio histogram, in seconds.
  static constexpr std::array<double, 10> kTtfaBucketsS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  // frames/s is averaged over this many whole seconds.
  static constexpr int kRateWindowS = 10;

  void add_sessions_active(std::int64_t delta) { sessions_active_.fetch_add(delta); }
  void set_queue_depth(std::int64_t n) { queue_depth_.store(n); }
  void add_frames(std::int64_t n, Clock::time_point now = Clock::now());
  void add_bytes_sent(std::int64_t n) { bytes_sent_.fetch_add(n); }
  void observe_ttfa(double seconds);
  // A finished song: why, and its real-time factor (generation time / audio time).
  void song_finished(std::string_view reason, double rtf);
  void song_failed() { songs_failed_.fetch_add(1); }
  void slow_reader_closed() { slow_reader_closes_.fetch_add(1); }
  void rejected_busy() { rejected_busy_.fetch_add(1); }

  std::int64_t frames_total() const { return frames_total_.load(); }
  std::string prometheus_text(Clock::time_point now = Clock::now()) const;

 private:
  std::atomic<std::int64_t> sessions_active_{0};
  std::atomic<std::int64_t> queue_depth_{0};
  std::atomic<std::int64_t> frames_total_{0};
  std::atomic<std::int64_t> bytes_sent_{0};
  std::atomic<std::int64_t> songs_failed_{0};
  std::atomic<std::int64_t> slow_reader_closes_{0};
  std::atomic<std::int64_t> rejected_busy_{0};

  mutable std::mutex mutex_;  // guards everything below
  // Frames per whole second since start, in a ring indexed by second % size.
  std::array<std::int64_t, kRateWindowS + 1> frames_per_second_{};
  std::array<std::int64_t, kRateWindowS + 1> second_of_slot_{};
  Clock::time_point start_ = Clock::now();
  std::array<std::int64_t, kTtfaBucketsS.size()> ttfa_buckets_{};  // cumulative counts
  std::int64_t ttfa_count_ = 0;
  double ttfa_sum_s_ = 0;
  std::int64_t songs_eos_ = 0, songs_length_ = 0, songs_cancelled_ = 0;
  std::int64_t rtf_count_ = 0;
  double rtf_sum_ = 0;
  double rtf_last_ = 0;
};

}  // namespace hs::daemon
