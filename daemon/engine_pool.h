// The daemon's engine workers (issue 15): one per entry of model.devices (one on model.device
// without it), each with its own copy of the models on its device, its own batch, KV pool, codec
// batch and real-time admission. A new song goes to the worker with the most headroom: one that
// would start it at once (EngineWorker::Readiness) before one that would queue it, then the
// shortest queue, then the most admission headroom (the real-time budget less the round predicted
// with one more song), then the fewest songs. Everything else (drain, shutdown, readiness) spans
// every worker. Songs are numbered across the workers (s1, s2, ...).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/engine_worker.h"
#include "daemon/metrics.h"

namespace hs::daemon {

// The devices of the engine workers: model.devices ("all": cuda:0 .. cuda:<count - 1>), or
// model.device alone. ConfigError when "all" finds no CUDA device.
std::vector<std::string> worker_devices(const ModelConfig& model);

// Each worker's configuration, checked (checked_backend_choice) and planned (with_vram_plan,
// engine_models.h): model.device set to its device and model.devices cleared; a GPU's free memory
// (model.vram_budget_gb free, or unset) is divided among the workers on it (a number stays each
// worker's own). `--check-config` runs it too.
std::vector<DaemonConfig> worker_configs(const DaemonConfig& config);

class EnginePool {
 public:
  // Plans every worker's memory (before any loads), loads every worker's models (side by side),
  // and starts the workers. `metrics` must outlive the pool.
  EnginePool(const DaemonConfig& config, Metrics& metrics);
  ~EnginePool();
  EnginePool(const EnginePool&) = delete;
  EnginePool& operator=(const EnginePool&) = delete;

  // EngineWorker::submit on the worker with the most headroom (the next one when it is full);
  // nullptr when every worker refuses.
  std::shared_ptr<SongHandle> submit(SongParams params, Container container, std::shared_ptr<SongListener> listener);
  // Every worker re-checks its paused songs (a listener drained its queue).
  void wake();
  void drain();
  // Every worker idle within `timeout` in all.
  bool wait_idle(std::chrono::duration<double> timeout);
  void shutdown();
  // Ready when a worker is; the reason is the worker's alone, or each worker's after its device
  // ("cuda:0 ready: 1/4 running, 0/8 queued; cuda:1 full: ...").
  EngineWorker::Readiness readiness() const;

  std::size_t size() const { return workers_.size(); }
  const EngineWorker& worker(std::size_t i) const { return *workers_.at(i); }
  // Worker 0's configuration after its memory plan (what /v1/info reports as the model settings).
  const DaemonConfig& config() const { return config_; }

 private:
  DaemonConfig config_;
  std::vector<std::unique_ptr<EngineWorker>> workers_;
  // One placement at a time, so that songs sent together see each other's place (a song queued on
  // a worker makes it not ready for the next).
  std::mutex submit_mutex_;
};

}  // namespace hs::daemon
