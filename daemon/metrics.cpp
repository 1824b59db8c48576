#include "daemon/metrics.h"

#include <algorithm>

#include <prometheus/text_serializer.h>

namespace hs::daemon {
namespace {

namespace prom = prometheus;

// Upper bounds of the histograms' buckets.
// Time to first audio: a GPU song's first audio comes in about 0.5 s, a CPU demo song's sooner.
const prom::Histogram::BucketBoundaries kTtfaBucketsS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
// Real-time factor: 1 is the edge of real time; a GPU song runs at about 0.08.
const prom::Histogram::BucketBoundaries kRtfBuckets = {0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 1.5, 2, 5};
// One frame step: 80 ms of audio, so songs that share the worker must stay well below 0.08 s.
const prom::Histogram::BucketBoundaries kStepBucketsS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 1};
// Queue wait: within one round when a slot is free; a queued song waits for another to end.
const prom::Histogram::BucketBoundaries kQueueWaitBucketsS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
                                                              15,    60,    300};
// One round steps every unpaused song one frame: it must stay under the 80 ms frame for real time.
const prom::Histogram::BucketBoundaries kRoundBucketsS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04,
                                                          0.064, 0.08,   0.16,  0.32, 1};
// Songs stepped in one round, up to the largest batches a GPU holds.
const prom::Histogram::BucketBoundaries kRoundSongsBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
// A song's largest lag behind real time; a song on time lags by its time to first audio at most.
const prom::Histogram::BucketBoundaries kSongLagBucketsS = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

// The heartstream_worker_* gauges, in the order of publish()'s values.
struct WorkerGauge {
  const char* name;
  const char* help;
};
constexpr WorkerGauge kWorkerGauges[] = {
    {"worker_sessions_running", "Songs generating on the engine worker now (paused ones included)."},
    {"worker_queue_depth", "Songs waiting in the engine worker's admission queue."},
    {"worker_slot_occupancy", "Songs generating on the engine worker / server.max_sessions."},
    {"worker_admission_predicted_round_seconds",
     "The engine worker's round time predicted with one more song than it runs (0 before a measurement)."},
    {"worker_song_lag_seconds_max", "Seconds of audio the engine worker's song furthest behind real time lacks now."},
    {"worker_kv_blocks_in_use", "KV cache blocks the engine worker's running songs hold."},
    {"worker_kv_blocks_total", "KV cache blocks in the engine worker's pool."},
};

template <class T>
prom::Family<T>& family(prom::detail::Builder<T> builder, prom::Registry& registry, const std::string& name,
                        const std::string& help) {
  return builder.Name("heartstream_" + name).Help(help).Register(registry);
}

prom::Gauge& gauge(prom::Registry& r, const std::string& name, const std::string& help) {
  return family(prom::BuildGauge(), r, name, help).Add({});
}

prom::Counter& counter(prom::Registry& r, const std::string& name, const std::string& help) {
  return family(prom::BuildCounter(), r, name, help).Add({});
}

prom::Histogram& histogram(prom::Registry& r, const std::string& name, const std::string& help,
                           const prom::Histogram::BucketBoundaries& buckets) {
  return family(prom::BuildHistogram(), r, name, help).Add({}, buckets);
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prom::Registry>()) {
  prom::Registry& r = *registry_;
  sessions_active_ = &gauge(r, "sessions_active", "Songs queued or generating now (paused ones included).");
  sessions_running_ = &gauge(r, "sessions_running", "Songs generating now (paused ones included).");
  slot_occupancy_ = &gauge(r, "slot_occupancy", "Songs generating / server.max_sessions.");
  queue_depth_ = &gauge(r, "queue_depth", "Songs waiting in the admission queue to start.");
  predicted_round_ = &gauge(r, "admission_predicted_round_seconds",
                            "The round time predicted with one more song than are running (0 before a measurement).");
  worst_lag_ = &gauge(r, "song_lag_seconds_max",
                      "Seconds of audio the generating song furthest behind real time lacks now.");
  kv_blocks_in_use_ = &gauge(r, "kv_blocks_in_use", "KV cache blocks (16 positions each) the running songs hold.");
  kv_blocks_total_ = &gauge(r, "kv_blocks_total", "KV cache blocks in the pool (model.kv_cache_gb).");
  connections_open_ = &gauge(r, "connections_open", "Open client connections (HTTP, WebSocket, POST streams).");
  gpu_memory_peak_bytes_ = &family(prom::BuildGauge(), r, "gpu_memory_peak_bytes",
                                   "The most GPU memory a model's backend has held at once (absent for a model on the CPU).");
  for (const WorkerGauge& g : kWorkerGauges) worker_families_.push_back(&family(prom::BuildGauge(), r, g.name, g.help));
  frames_per_second_ = &gauge(r, "frames_per_second", "Code frames generated per second over the last 10 whole seconds.");
  frames_total_ = &counter(r, "frames_generated_total", "Code frames (80 ms of audio each) generated.");
  bytes_sent_ = &counter(r, "bytes_sent_total", "Audio and message bytes written to clients.");
  slow_reader_closes_ =
      &counter(r, "slow_reader_closes_total", "Connections closed because the client stopped reading.");

  auto& songs = family(prom::BuildCounter(), r, "songs_total",
                       "Song requests by how they ended: eos, length, cancelled (finished), rejected (never started: "
                       "busy, draining or invalid), failed (an engine error), shutdown (ended by the daemon stopping).");
  eos_ = &songs.Add({{"outcome", "eos"}});
  length_ = &songs.Add({{"outcome", "length"}});
  cancelled_ = &songs.Add({{"outcome", "cancelled"}});
  rejected_ = &songs.Add({{"outcome", "rejected"}});
  failed_ = &songs.Add({{"outcome", "failed"}});
  shut_down_ = &songs.Add({{"outcome", "shutdown"}});
  auto& rejected = family(prom::BuildCounter(), r, "songs_rejected_total",
                          "Song requests refused before generating, by reason: busy (server.max_sessions running and "
                          "server.queue_limit waiting), draining, "
                          "invalid (the protocol or the engine rejected the request).");
  rejected_busy_ = &rejected.Add({{"reason", "busy"}});
  rejected_draining_ = &rejected.Add({{"reason", "draining"}});
  rejected_invalid_ = &rejected.Add({{"reason", "invalid"}});
  auto& queued = family(prom::BuildCounter(), r, "songs_queued_total",
                        "Songs that waited in the admission queue, by why they could not start at once: max_sessions "
                        "(every slot taken), realtime (one more song would slow the running ones below real time), "
                        "kv_cache (the KV cache pool could not reserve the song's length).");
  queued_slots_ = &queued.Add({{"reason", "max_sessions"}});
  queued_realtime_ = &queued.Add({{"reason", "realtime"}});
  queued_kv_cache_ = &queued.Add({{"reason", "kv_cache"}});

  ttfa_ = &histogram(r, "time_to_first_audio_seconds", "From accepting a song to its first audio bytes.", kTtfaBucketsS);
  first_frame_ = &histogram(r, "first_frame_seconds",
                            "From a song's start (out of the queue) to its first frame: its set-up and its prompt's "
                            "prefill, in parts between the running songs' rounds.",
                            kTtfaBucketsS);
  first_chunk_ = &histogram(r, "first_chunk_seconds",
                            "From a song's first frame to its first audio bytes: the first codec chunk's frames, its "
                            "wait for and time in a codec call, and the encoder.",
                            kTtfaBucketsS);
  rtf_ = &histogram(r, "real_time_factor",
                    "Generation time / audio time of each song that produced audio (< 1: faster than real time).",
                    kRtfBuckets);
  step_ = &histogram(r, "frame_step_seconds",
                     "One frame of one song in the engine worker into its decoder (the codec runs after the round's steps).",
                     kStepBucketsS);
  codec_ = &histogram(r, "codec_round_seconds", "The codec work of one round that decoded chunks (CodecBatch::run).",
                      kRoundBucketsS);
  codec_chunks_ = &histogram(r, "codec_round_chunks", "Songs' chunks decoded together in one round.", kRoundSongsBuckets);
  encode_ = &histogram(r, "encode_seconds",
                       "One codec call's songs' audio encoded on the encoder threads, beside the worker's next rounds.",
                       kRoundBucketsS);
  encode_wait_ = &histogram(r, "encode_wait_seconds",
                            "The worker's wait for the previous codec call's encoding before handing over the next "
                            "(no song steps meanwhile).",
                            kRoundBucketsS);
  queue_wait_ = &histogram(r, "queue_wait_seconds", "From accepting a song to its start (its wait in the queue).",
                           kQueueWaitBucketsS);
  round_ = &histogram(r, "round_seconds", "One round of the engine worker: every unpaused song one frame.",
                      kRoundBucketsS);
  round_songs_ = &histogram(r, "round_songs", "Songs stepped in one round of the engine worker.", kRoundSongsBuckets);
  song_lag_ = &histogram(r, "song_lag_seconds",
                         "The most each song fell behind real time (wall time since started - audio made), at its end.",
                         kSongLagBucketsS);
}

int Metrics::add_worker(std::string_view device) {
  std::lock_guard lock(workers_mutex_);
  WorkerValues w;
  w.labels = {{"worker", std::to_string(workers_.size())}, {"device", std::string(device)}};
  for (auto* f : worker_families_) w.gauges.push_back(&f->Add(w.labels));
  workers_.push_back(std::move(w));
  publish(workers_.back());
  return static_cast<int>(workers_.size()) - 1;
}

void Metrics::publish(const WorkerValues& w) {
  const double values[] = {static_cast<double>(w.running),
                           static_cast<double>(w.queued),
                           static_cast<double>(w.running) / w.slots,
                           w.predicted_round_s,
                           w.worst_lag_s,
                           static_cast<double>(w.kv_in_use),
                           static_cast<double>(w.kv_total)};
  static_assert(std::size(values) == std::size(kWorkerGauges));
  for (std::size_t i = 0; i < w.gauges.size(); ++i) w.gauges[i]->Set(values[i]);
  int running = 0, queued = 0, slots = 0;
  double lag = 0, predicted = 0;
  std::int64_t kv_in_use = 0, kv_total = 0;
  for (const WorkerValues& v : workers_) {
    running += v.running;
    queued += v.queued;
    slots += v.slots;
    lag = std::max(lag, v.worst_lag_s);
    if (v.predicted_round_s > 0 && (predicted == 0 || v.predicted_round_s < predicted)) predicted = v.predicted_round_s;
    kv_in_use += v.kv_in_use;
    kv_total += v.kv_total;
  }
  sessions_active_->Set(running + queued);
  sessions_running_->Set(running);
  slot_occupancy_->Set(static_cast<double>(running) / std::max(slots, 1));
  queue_depth_->Set(queued);
  worst_lag_->Set(lag);
  predicted_round_->Set(predicted);
  kv_blocks_in_use_->Set(static_cast<double>(kv_in_use));
  kv_blocks_total_->Set(static_cast<double>(kv_total));
}

void Metrics::update(int worker, const std::function<void(WorkerValues&)>& change) {
  std::lock_guard lock(workers_mutex_);
  WorkerValues& w = workers_.at(static_cast<std::size_t>(worker));
  change(w);
  publish(w);
}

void Metrics::set_load(int worker, int running, int queued, int max_sessions) {
  update(worker, [&](WorkerValues& w) {
    w.running = running;
    w.queued = queued;
    w.slots = max_sessions;
  });
}

void Metrics::set_predicted_round(int worker, double seconds) {
  update(worker, [&](WorkerValues& w) { w.predicted_round_s = seconds; });
}

void Metrics::set_worst_lag(int worker, double seconds) {
  update(worker, [&](WorkerValues& w) { w.worst_lag_s = seconds; });
}

void Metrics::set_kv_blocks(int worker, std::int64_t in_use, std::int64_t total) {
  update(worker, [&](WorkerValues& w) {
    w.kv_in_use = in_use;
    w.kv_total = total;
  });
}

void Metrics::set_gpu_memory_peak_bytes(int worker, std::string_view model, std::size_t bytes) {
  std::lock_guard lock(workers_mutex_);
  std::map<std::string, std::string> labels = workers_.at(static_cast<std::size_t>(worker)).labels;
  labels["model"] = std::string(model);
  gpu_memory_peak_bytes_->Add(labels).Set(static_cast<double>(bytes));
}

void Metrics::add_frames(std::int64_t n, Clock::time_point now) {
  frames_total_->Increment(static_cast<double>(n));
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
  std::lock_guard lock(mutex_);
  const auto slot = static_cast<std::size_t>(second) % frames_per_second_ring_.size();
  if (second_of_slot_[slot] != second) {
    second_of_slot_[slot] = second;
    frames_per_second_ring_[slot] = 0;
  }
  frames_per_second_ring_[slot] += n;
}

void Metrics::song_finished(std::string_view reason, double rtf) {
  if (reason == "eos") eos_->Increment();
  if (reason == "length") length_->Increment();
  if (reason == "cancelled") cancelled_->Increment();
  if (rtf > 0) rtf_->Observe(rtf);
}

std::string Metrics::prometheus_text(Clock::time_point now) const {
  {
    std::lock_guard lock(mutex_);
    // The last kRateWindowS whole seconds (the current, partial second is left out).
    const auto current = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
    std::int64_t window_frames = 0;
    for (std::size_t slot = 0; slot < frames_per_second_ring_.size(); ++slot) {
      const auto age = current - second_of_slot_[slot];
      if (age >= 1 && age <= kRateWindowS) window_frames += frames_per_second_ring_[slot];
    }
    const std::int64_t window_s = std::min<std::int64_t>(kRateWindowS, std::max<std::int64_t>(current, 1));
    frames_per_second_->Set(static_cast<double>(window_frames) / static_cast<double>(window_s));
  }
  return prom::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace hs::daemon
