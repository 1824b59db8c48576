#include "daemon/engine_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <string_view>
#include <tuple>

#include "daemon/engine_models.h"
#include "engine/backends/backend_factory.h"

namespace hs::daemon {
std::vector<std::string> worker_devices(const ModelConfig& model) {
  if (model.devices.empty()) return {model.device};
  if (model.devices != std::vector<std::string>{std::string(kAllDevices)}) return model.devices;
  const int count = cuda_device_count();
  if (count == 0)
    throw ConfigError(
        "model.devices all: no CUDA device found (check the driver, nvidia-smi and CUDA_VISIBLE_DEVICES)");
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back("cuda:" + std::to_string(i));
  return out;
}

std::vector<DaemonConfig> worker_configs(const DaemonConfig& config) {
  const std::string_view key = config.model.devices.empty() ? "model.device" : "model.devices";
  std::vector<DaemonConfig> workers;
  std::vector<DeviceName> gpus;  // each worker's, to count the workers sharing one
  for (const std::string& device : worker_devices(config.model)) {
    DaemonConfig& c = workers.emplace_back(config);
    c.model.device = device;
    c.model.devices.clear();
    const BackendChoice choice = checked_backend_choice(c.model, key);
    gpus.push_back({choice.device, choice.device_index});
  }
  for (std::size_t i = 0; i < workers.size(); ++i)
    workers[i] = with_vram_plan(workers[i], static_cast<int>(std::count(gpus.begin(), gpus.end(), gpus[i])));
  return workers;
}

EnginePool::EnginePool(const DaemonConfig& config, Metrics& metrics) {
  // Every plan before any load: "free" is what the GPUs hold before the models take it.
  const std::vector<DaemonConfig> configs = worker_configs(config);
  config_ = configs.front();
  // The models side by side (a 3B checkpoint takes about a minute per GPU; the fp8 weight cache is
  // written atomically, so two loads may build it at once).
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<EngineModels>> loads;
  for (const DaemonConfig& c : configs)
    loads.push_back(std::async(std::launch::async, [&c] { return load_engine_models(c.model); }));
  std::vector<EngineModels> models;
  std::exception_ptr failed;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    try {
      models.push_back(loads[i].get());
      spdlog::info("loaded {} in {:.1f} s", models.back().description,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      for (const Backend* b : {models.back().backends.lm.get(), models.back().backends.codec.get()})
        if (!b->details().empty()) spdlog::info("GPU {}: {}", b->name(), b->details());
    } catch (const std::exception& e) {
      if (configs.size() > 1) spdlog::error("the models for {} did not load: {}", configs[i].model.device, e.what());
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
  const auto song_numbers = std::make_shared<std::atomic<std::uint64_t>>(1);  // one count across the workers
  for (std::size_t i = 0; i < models.size(); ++i) {
    WorkerOptions options = worker_options(configs[i]);
    options.song_numbers = song_numbers;
    workers_.push_back(std::make_unique<EngineWorker>(std::move(models[i]), options, metrics));
  }
}

EnginePool::~EnginePool() { shutdown(); }

std::shared_ptr<SongHandle> EnginePool::submit(SongParams params, Container container,
                                               std::shared_ptr<SongListener> listener) {
  std::lock_guard lock(submit_mutex_);
  std::vector<std::pair<EngineWorker::Load, std::size_t>> order;
  for (std::size_t i = 0; i < workers_.size(); ++i) order.emplace_back(workers_[i]->load(), i);
  const auto key = [](const auto& entry) {
    const EngineWorker::Load& l = entry.first;
    return std::make_tuple(!l.ready, l.queued, -l.headroom_s, l.running, entry.second);
  };
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  for (const auto& [load, i] : order)
    if (auto handle = workers_[i]->submit(params, container, listener)) return handle;
  return nullptr;
}

void EnginePool::wake() {
  for (auto& w : workers_) w->wake();
}

void EnginePool::drain() {
  for (auto& w : workers_) w->drain();
}

bool EnginePool::wait_idle(std::chrono::duration<double> timeout) {
  using Seconds = std::chrono::duration<double>;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool idle = true;
  for (auto& w : workers_) {
    const Seconds left = std::max(Seconds(deadline - std::chrono::steady_clock::now()), Seconds::zero());
    if (!w->wait_idle(left)) idle = false;
  }
  return idle;
}

void EnginePool::shutdown() {
  for (auto& w : workers_) w->shutdown();
}

EngineWorker::Readiness EnginePool::readiness() const {
  if (workers_.size() == 1) return workers_.front()->readiness();
  EngineWorker::Readiness out;
  for (const auto& w : workers_) {
    const EngineWorker::Readiness r = w->readiness();
    out.ready = out.ready || r.ready;
    out.reason += (out.reason.empty() ? "" : "; ") + w->device() + " " + r.reason;
  }
  return out;
}

}  // namespace hs::daemon
