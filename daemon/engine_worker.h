// The engine worker (DESIGN.md "Serving"): one thread owns the models and advances every active
// song by one frame per round (round-robin; songs join and leave between rounds, the shape a
// batched step will take). Paused songs are skipped; a song whose step throws ends alone with an
// `error`. Other threads only submit, cancel (through the SongHandle) and wake it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/engine_models.h"
#include "daemon/metrics.h"
#include "daemon/song_handle.h"
#include "daemon/song_setup.h"

namespace hs::daemon {

class SongSession;

struct WorkerOptions {
  int max_sessions = 16;  // ServerConfig::max_sessions: queued + running songs
  PacingOptions pacing;
};

class EngineWorker {
 public:
  // Starts the thread; the models move in and stay on it.
  EngineWorker(EngineModels models, WorkerOptions options, Metrics& metrics);
  // Shuts down (if not yet) and joins.
  ~EngineWorker();
  EngineWorker(const EngineWorker&) = delete;
  EngineWorker& operator=(const EngineWorker&) = delete;

  // Queues a song; its listener then hears `started` (or `error`), audio, and one `done`/`error`.
  // Returns nullptr without calling the listener when max_sessions songs are queued or running,
  // or after shutdown (the caller answers `busy` / `shutdown`). While draining the listener hears
  // error {code: shutdown} at once (from this call) and the handle is returned.
  std::shared_ptr<SongHandle> submit(SongParams params, Container container, std::shared_ptr<SongListener> listener);
  // A listener drained its queue: re-check paused songs now rather than at the next poll.
  void wake();
  // Stops admitting songs; queued and running ones go on. Idempotent.
  void drain();
  // Blocks until no song is queued or running (true), or `timeout` passes or shutdown() ends them
  // (false when songs were still running at the timeout).
  bool wait_idle(std::chrono::duration<double> timeout);
  // Ends every queued and running song with error {code: shutdown}, refuses new ones, and joins
  // the thread. Idempotent.
  void shutdown();

  // Whether one more song would be admitted now, and why (GET /readyz): "ready: 1/4 sessions",
  // "full: 4/4 sessions", "draining: 2 songs running".
  struct Readiness {
    bool ready = false;
    std::string reason;
  };
  Readiness readiness() const;

  const std::string& model_description() const { return description_; }
  int sessions() const;  // queued + running

 private:
  struct Pending {
    SongSetup setup;
  };

  void run();
  void admit(std::vector<Pending> pending);
  // One round: every unpaused session one step. Returns whether any session was stepped.
  bool step_all();
  void end_all(std::string_view code, std::string_view message);
  // A session is about to send its final message: it no longer counts as running.
  void song_ended();
  // The GPU backends' peak memory into the metrics (nothing for backends on the CPU).
  void report_gpu_memory();

  EngineModels models_;
  WorkerOptions options_;
  Metrics* metrics_;
  std::string description_;

  mutable std::mutex mutex_;  // guards pending_, count_, stopping_, draining_
  std::condition_variable wake_;
  std::condition_variable idle_;  // count_ reached 0
  std::deque<Pending> pending_;
  int count_ = 0;  // queued + running
  bool stopping_ = false;
  bool draining_ = false;
  bool woken_ = false;
  std::uint64_t next_id_ = 1;

  std::vector<std::unique_ptr<SongSession>> sessions_;  // worker thread only
  std::thread thread_;
};

}  // namespace hs::daemon
