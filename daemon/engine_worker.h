// The engine worker (DESIGN.md "Serving"): one thread owns the models and advances every running
// song by one frame per round: one batched LM step for all unpaused songs (FrameBatch, a KV pool
// of model.kv_cache_gb), then each song's own step, then the due codec chunks of all songs together,
// whose audio the encoder threads encode beside the next rounds. Songs join and leave between
// rounds; paused songs are skipped; a song whose step throws ends alone with an `error`. Other
// threads only submit, cancel (through the SongHandle) and wake it.
//
// Admission (issue 12): at most max_sessions songs run; others wait in a FIFO queue of at most
// queue_limit songs, told their position, and start between rounds when a slot is free and the
// RealtimeAdmission model predicts that the round with one more song still keeps real time. A
// song cancelled while queued leaves the queue (done {reason: cancelled}) and those behind move up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/admission.h"
#include "daemon/config.h"
#include "daemon/encoder_threads.h"
#include "daemon/engine_models.h"
#include "daemon/metrics.h"
#include "daemon/song_handle.h"
#include "daemon/song_setup.h"
#include "engine/pipeline/codec_batch.h"
#include "engine/pipeline/generator.h"

namespace hs::daemon {

class SongSession;

struct WorkerOptions {
  // Songs are named s1, s2, ... from this counter (an EnginePool's workers share one).
  std::shared_ptr<std::atomic<std::uint64_t>> song_numbers = std::make_shared<std::atomic<std::uint64_t>>(1);
  int max_sessions = 16;           // ServerConfig::max_sessions: songs running at once
  int queue_limit = 32;            // ServerConfig::queue_limit: songs waiting to start
  std::optional<double> realtime_headroom = 0.8;  // ServerConfig::realtime_headroom: of the 80 ms frame
  int prefill_per_round = 0;       // ServerConfig::prefill_per_round (0: whole prompts)
  double kv_cache_gb = 0;          // ModelConfig::kv_cache_gb (0: see batch_options in engine_worker.cpp)
  KvCache kv_cache = KvCache::Auto;  // ModelConfig::kv_cache
  std::int64_t song_ms = 240000;   // GenerationConfig::max_audio_length_ms
  std::int64_t longest_song_ms = 600000;  // GenerationConfig::max_audio_length_ms_limit
  PacingOptions pacing;
};

// The worker's options from the daemon's configuration.
WorkerOptions worker_options(const DaemonConfig& config);

class EngineWorker {
 public:
  // Starts the thread; the models move in and stay on it.
  EngineWorker(EngineModels models, WorkerOptions options, Metrics& metrics);
  // Shuts down (if not yet) and joins.
  ~EngineWorker();
  EngineWorker(const EngineWorker&) = delete;
  EngineWorker& operator=(const EngineWorker&) = delete;

  // Queues a song; its listener then hears `queued` while it waits, `started` (or `error`), audio,
  // and one `done`/`error`. Returns nullptr without calling the listener when max_sessions songs
  // run and queue_limit wait, or after shutdown (the caller answers `busy` / `shutdown`). While
  // draining the listener hears error {code: shutdown} at once (from this call) and the handle is
  // returned.
  std::shared_ptr<SongHandle> submit(SongParams params, Container container, std::shared_ptr<SongListener> listener);
  // A listener drained its queue: re-check paused songs now rather than at the next poll.
  void wake();
  // Stops taking songs and ends the queued ones with error {code: shutdown}; running ones go on.
  // Idempotent.
  void drain();
  // Blocks until no song is queued or running (true), or `timeout` passes or shutdown() ends them
  // (false when songs were still running at the timeout).
  bool wait_idle(std::chrono::duration<double> timeout);
  // Ends every queued and running song with error {code: shutdown}, refuses new ones, and joins
  // the thread. Idempotent.
  void shutdown();

  // Whether a song sent now would start at once, and why (GET /readyz; a load balancer then sends
  // songs where they need not wait): "ready: 1/4 running, 0/8 queued", "full: 4/4 running, 2/8
  // queued", "full: 3/4 running, 0/8 queued (real-time admission holds new songs)",
  // "draining: 2 songs running". A daemon that is not ready still queues songs up to queue_limit.
  struct Readiness {
    bool ready = false;
    std::string reason;
  };
  Readiness readiness() const;

  struct Load {
    int running = 0;
    int queued = 0;
    bool ready = false;  // readiness().ready
    // The admission budget less the round predicted with one more song (the whole budget before
    // a measurement): how much more a round may take (EnginePool sends a song where it is largest).
    double headroom_s = 0;
  };
  Load load() const;

  const std::string& model_description() const { return description_; }
  // The language model's device, as the configuration names it ("cpu", "cuda", "cuda:1").
  const std::string& device() const { return device_; }
  const WorkerOptions& options() const { return options_; }

 private:
  struct Pending {
    SongSetup setup;
    int position = 0;  // last told to the listener; 0: not yet
  };
  // A message for a listener, sent after the lock is released.
  struct Notice {
    std::shared_ptr<SongListener> listener;
    int position = 0;  // > 0: queued at it; 0: cancelled while queued
  };

  void run();
  // Under the lock: readiness().
  Readiness readiness_locked() const;
  // Under the lock: takes the songs that start now off the queue, drops the cancelled ones, and
  // notes the positions that changed.
  std::vector<Pending> take_admitted(std::vector<Notice>& notices);
  void start(std::vector<Pending> admitted);
  // One round: every session the pacing steps (daemon/pacing.h) one frame, then the due codec
  // chunks. Returns whether any session was stepped.
  bool step_all();
  // The songs' due codec chunks, decoded together, then sent; returns how many were decoded.
  std::int64_t decode_audio(bool stepped);
  // Ends a song whose generation failed with `what` (counted as failed).
  void fail_song(SongSession& session, std::string_view what);
  void end_all(std::string_view code, std::string_view message);
  // A session is about to send its final message: it no longer counts as running.
  void song_ended();
  // Under the lock: the load into the metrics, and wakes wait_idle when nothing is left.
  void load_changed();
  // The GPU backends' peak memory into the metrics (nothing for backends on the CPU).
  void report_gpu_memory();
  // Captures, before the first song, the graphs a crowd of songs starting needs (on a GPU).
  void prepare_graphs();

  EngineModels models_;
  WorkerOptions options_;
  Metrics* metrics_;
  int metrics_worker_;  // this worker's number in the metrics
  std::string description_;
  std::string device_;
  RealtimeAdmission admission_;  // worker thread (read under the lock by take_admitted)
  std::unique_ptr<FrameBatch> batch_;  // the running songs' LM: one batched step per round (worker thread)
  std::unique_ptr<CodecBatch> codec_batch_;  // their due codec chunks, decoded together each round
  EncoderThreads encoders_;  // their decoded audio into Opus or Ogg, beside the next rounds

  mutable std::mutex mutex_;  // guards queue_, running_, stopping_, draining_, woken_
  std::condition_variable wake_;
  std::condition_variable idle_;  // nothing queued or running
  std::deque<Pending> queue_;
  int running_ = 0;            // started and not yet ended
  bool realtime_room_ = true;  // the admission model took one more song at the last look
  bool settling_ = false;      // songs started within the admission model's settle rounds
  bool kv_room_ = true;        // the KV pool could reserve the next song (or a default one) at the last look
  std::optional<double> predicted_next_s_;  // the round with one more song than run, at the last round
  bool stopping_ = false;
  bool draining_ = false;
  bool woken_ = false;

  std::vector<std::unique_ptr<SongSession>> sessions_;  // worker thread only
  std::thread thread_;
};

}  // namespace hs::daemon
