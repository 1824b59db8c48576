// Daemon-wide metrics for GET /metrics, kept in a prometheus-cpp Registry and rendered in the
// Prometheus text format 0.0.4 by its TextSerializer inside our own HTTP server (no exposer of its
// own). Updated from the engine worker and the network threads; every method is thread-safe.
// docs/metrics.md describes every metric.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace hs::daemon {

class Metrics {
 public:
  using Clock = std::chrono::steady_clock;

  // frames/s is averaged over this many whole seconds.
  static constexpr int kRateWindowS = 10;

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // An engine worker (one per GPU, daemon/engine_pool.h) on `device` ("cuda:1"): its gauges below
  // are labelled {worker="<number>", device="<device>"} in the heartstream_worker_* families, and the
  // daemon-wide gauges add up the workers' (the lag: the largest; the predicted round: the
  // smallest measured). Returns its number for the calls that take `worker`.
  int add_worker(std::string_view device);
  // A worker's load: songs generating (`running`, of `max_sessions` slots) and waiting in its
  // admission queue (`queued`).
  void set_load(int worker, int running, int queued, int max_sessions);
  void set_connections_open(std::int64_t n) { connections_open_->Set(static_cast<double>(n)); }
  // The most device memory the backend of `model` ("lm", "codec") of a worker has held; called
  // only for backends on a GPU, so the series is absent without one.
  void set_gpu_memory_peak_bytes(int worker, std::string_view model, std::size_t bytes);
  void add_frames(std::int64_t n, Clock::time_point now = Clock::now());
  void add_bytes_sent(std::int64_t n) { bytes_sent_->Increment(static_cast<double>(n)); }
  void observe_ttfa(double seconds) { ttfa_->Observe(seconds); }
  // One SongSession::step (one frame of one song into its decoder; the codec runs after).
  void observe_step(double seconds) { step_->Observe(seconds); }
  // One round's codec work: `chunks` songs' due chunks decoded in `seconds` (CodecBatch::run).
  void observe_codec(std::int64_t chunks, double seconds) {
    codec_->Observe(seconds);
    codec_chunks_->Observe(static_cast<double>(chunks));
  }
  // One codec call's songs' audio encoded (each decoded song's PCM into Opus or Ogg, on the
  // encoder threads beside the worker's next rounds) in `seconds`, from hand-over to the last song.
  void observe_encode(double seconds) { encode_->Observe(seconds); }
  // The worker waited `seconds` for the previous call's encoding before handing over the next
  // (no song steps meanwhile).
  void observe_encode_wait(double seconds) { encode_wait_->Observe(seconds); }
  // One round of the engine worker: `songs` songs stepped one frame each in `seconds`.
  void observe_round(int songs, double seconds) {
    round_->Observe(seconds);
    round_songs_->Observe(songs);
  }
  // The round time a worker's admission model predicts with one more song than are running (0:
  // not measured yet).
  void set_predicted_round(int worker, double seconds);
  // From a song's acceptance to its start (it waited in the queue meanwhile).
  void observe_queue_wait(double seconds) { queue_wait_->Observe(seconds); }
  // The rest of the time to first audio, in two parts: out of the queue to the first frame (the
  // session's set-up and its prompt's prefill), then to the first audio bytes (the first chunk's
  // frames, its codec call and the encoder).
  void observe_first_frame(double seconds) { first_frame_->Observe(seconds); }
  void observe_first_chunk(double seconds) { first_chunk_->Observe(seconds); }
  // Seconds of audio a worker's song furthest behind real time lacks now (0: none is behind).
  void set_worst_lag(int worker, double seconds);
  // KV cache blocks a worker's running songs hold, of its pool's total (engine/model/lm/mula_batch.h).
  void set_kv_blocks(int worker, std::int64_t in_use, std::int64_t total);
  // The most a song fell behind real time, observed when it ends.
  void observe_song_lag(double seconds) { song_lag_->Observe(seconds); }
  // A song had to wait in the queue: every slot was taken, or one more song would have slowed the
  // running ones below real time.
  void queued_for_slots() { queued_slots_->Increment(); }
  void queued_for_realtime() { queued_realtime_->Increment(); }
  void queued_for_kv_cache() { queued_kv_cache_->Increment(); }

  // How a song ended: a finished one by its reason ("eos", "length", "cancelled") with its
  // real-time factor (generation time / audio time); the others as named.
  void song_finished(std::string_view reason, double rtf);
  void song_failed() { failed_->Increment(); }
  void song_shut_down() { shut_down_->Increment(); }
  // Songs refused before generating: max_sessions running and queue_limit waiting, the daemon draining, or a request
  // the protocol or the engine rejected. None is an engine failure.
  void rejected_busy() { reject(*rejected_busy_); }
  void rejected_draining() { reject(*rejected_draining_); }
  void rejected_invalid() { reject(*rejected_invalid_); }

  void slow_reader_closed() { slow_reader_closes_->Increment(); }

  std::int64_t frames_total() const { return static_cast<std::int64_t>(frames_total_->Value()); }
  std::string prometheus_text(Clock::time_point now = Clock::now()) const;

 private:
  void reject(prometheus::Counter& by_reason) {
    by_reason.Increment();
    rejected_->Increment();
  }

  // One worker's values and its labelled gauges (in the order of kWorkerGauges in metrics.cpp).
  struct WorkerValues {
    std::map<std::string, std::string> labels;
    int running = 0, queued = 0, slots = 1;
    double predicted_round_s = 0, worst_lag_s = 0;
    std::int64_t kv_in_use = 0, kv_total = 0;
    std::vector<prometheus::Gauge*> gauges;
  };
  // Under workers_mutex_: worker `w`'s labelled gauges and the daemon-wide sums from every worker's values.
  void publish(const WorkerValues& w);
  // `change` applied to a worker's values under the lock, then published.
  void update(int worker, const std::function<void(WorkerValues&)>& change);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* sessions_active_;
  prometheus::Gauge* sessions_running_;
  prometheus::Gauge* slot_occupancy_;
  prometheus::Gauge* queue_depth_;
  prometheus::Gauge* predicted_round_;
  prometheus::Gauge* worst_lag_;
  prometheus::Gauge* kv_blocks_in_use_;
  prometheus::Gauge* kv_blocks_total_;
  prometheus::Gauge* connections_open_;
  prometheus::Family<prometheus::Gauge>* gpu_memory_peak_bytes_;
  std::vector<prometheus::Family<prometheus::Gauge>*> worker_families_;  // heartstream_worker_*
  prometheus::Gauge* frames_per_second_;
  prometheus::Counter* frames_total_;
  prometheus::Counter* bytes_sent_;
  prometheus::Counter* slow_reader_closes_;
  prometheus::Counter *eos_, *length_, *cancelled_, *rejected_, *failed_, *shut_down_;  // heartstream_songs_total
  prometheus::Counter *rejected_busy_, *rejected_draining_, *rejected_invalid_;  // heartstream_songs_rejected_total
  prometheus::Counter *queued_slots_, *queued_realtime_, *queued_kv_cache_;                         // heartstream_songs_queued_total
  prometheus::Histogram* ttfa_;
  prometheus::Histogram* first_frame_;
  prometheus::Histogram* first_chunk_;
  prometheus::Histogram* rtf_;
  prometheus::Histogram* step_;
  prometheus::Histogram* queue_wait_;
  prometheus::Histogram* round_;
  prometheus::Histogram* round_songs_;
  prometheus::Histogram* codec_;
  prometheus::Histogram* codec_chunks_;
  prometheus::Histogram* encode_;
  prometheus::Histogram* encode_wait_;
  prometheus::Histogram* song_lag_;

  std::mutex workers_mutex_;  // guards workers_
  std::vector<WorkerValues> workers_;
  mutable std::mutex mutex_;  // guards the frame-rate ring and start_
  // Frames per whole second since start, in a ring indexed by second % size.
  std::array<std::int64_t, kRateWindowS + 1> frames_per_second_ring_{};
  std::array<std::int64_t, kRateWindowS + 1> second_of_slot_{};
  Clock::time_point start_ = Clock::now();
};

}  // namespace hs::daemon
