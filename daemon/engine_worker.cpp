#include "daemon/engine_worker.h"

#include <spdlog/spdlog.h>

#include "daemon/song_session.h"

namespace hs::daemon {
namespace {

// How long the worker sleeps when every song is paused and nobody wakes it: the granularity of
// real-time pacing.
constexpr auto kPausedPoll = std::chrono::milliseconds(5);
constexpr std::string_view kShutdownMessage = "the daemon is shutting down";
constexpr std::string_view kDrainingMessage = "the daemon is shutting down (draining): it takes no new songs";

}  // namespace

EngineWorker::EngineWorker(EngineModels models, WorkerOptions options, Metrics& metrics)
    : models_(std::move(models)), options_(options), metrics_(&metrics), description_(models_.description) {
  report_gpu_memory();
  thread_ = std::thread([this] { run(); });
}

EngineWorker::~EngineWorker() { shutdown(); }

std::shared_ptr<SongHandle> EngineWorker::submit(SongParams params, Container container,
                                                 std::shared_ptr<SongListener> listener) {
  std::unique_lock lock(mutex_);
  if (stopping_) return nullptr;
  if (draining_) {
    auto refused = std::make_shared<SongHandle>("s" + std::to_string(next_id_++));
    lock.unlock();
    metrics_->rejected_draining();
    listener->on_error(error_code::kShutdown, kDrainingMessage);
    return refused;
  }
  if (count_ >= options_.max_sessions) return nullptr;
  auto handle = std::make_shared<SongHandle>("s" + std::to_string(next_id_++));
  pending_.push_back(Pending{SongSetup{handle, std::move(params), container, std::move(listener),
                                       std::chrono::steady_clock::now()}});
  ++count_;
  metrics_->set_queue_depth(static_cast<std::int64_t>(pending_.size()));
  woken_ = true;
  wake_.notify_one();
  return handle;
}

void EngineWorker::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  wake_.notify_one();
}

void EngineWorker::drain() {
  std::lock_guard lock(mutex_);
  draining_ = true;
}

bool EngineWorker::wait_idle(std::chrono::duration<double> timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return count_ == 0 || stopping_; }) && count_ == 0;
}

EngineWorker::Readiness EngineWorker::readiness() const {
  std::lock_guard lock(mutex_);
  if (stopping_) return {false, "shutting down"};
  if (draining_) return {false, "draining: " + std::to_string(count_) + (count_ == 1 ? " song" : " songs") + " running"};
  const std::string sessions = std::to_string(count_) + "/" + std::to_string(options_.max_sessions) + " sessions";
  if (count_ >= options_.max_sessions) return {false, "full: " + sessions};
  return {true, "ready: " + sessions};
}

void EngineWorker::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
    idle_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

int EngineWorker::sessions() const {
  std::lock_guard lock(mutex_);
  return count_;
}

void EngineWorker::run() {
  while (true) {
    std::vector<Pending> arrivals;
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
      while (!pending_.empty()) {
        arrivals.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      metrics_->set_queue_depth(0);
    }
    if (stopping) {
      for (auto& p : arrivals) {
        metrics_->song_shut_down();
        p.setup.listener->on_error(error_code::kShutdown, kShutdownMessage);
      }
      end_all(error_code::kShutdown, kShutdownMessage);
      return;
    }
    admit(std::move(arrivals));
    if (step_all()) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kPausedPoll, [this] { return woken_ || stopping_; });
    woken_ = false;
  }
}

void EngineWorker::admit(std::vector<Pending> pending) {
  for (auto& p : pending) {
    auto listener = p.setup.listener;
    metrics_->observe_queue_wait(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p.setup.accepted_at).count());
    try {
      metrics_->add_sessions_active(1);
      sessions_.push_back(std::make_unique<SongSession>(models_, std::move(p.setup), options_.pacing, *metrics_,
                                                        [this] { song_ended(); }));
      spdlog::info("song {} started ({} running)", sessions_.back()->id(), sessions_.size());
    } catch (const std::exception& e) {
      metrics_->add_sessions_active(-1);
      spdlog::warn("song rejected by the engine: {}", e.what());
      const bool bad_request = dynamic_cast<const InvalidArgument*>(&e) != nullptr;
      if (bad_request)
        metrics_->rejected_invalid();
      else
        metrics_->song_failed();
      listener->on_error(bad_request ? error_code::kRejected : error_code::kGenerationFailed, e.what());
      std::lock_guard lock(mutex_);
      if (--count_ == 0) idle_.notify_all();
    }
  }
}

bool EngineWorker::step_all() {
  bool stepped = false;
  const auto now = std::chrono::steady_clock::now();
  for (auto& session : sessions_) {
    if (session->paused(now)) continue;
    stepped = true;
    const auto step_start = std::chrono::steady_clock::now();
    try {
      session->step();
      metrics_->observe_step(std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count());
    } catch (const std::exception& e) {
      spdlog::error("song {} failed: {}", session->id(), e.what());
      metrics_->song_failed();
      session->fail(error_code::kGenerationFailed, e.what());
    }
  }
  std::erase_if(sessions_, [](const auto& s) { return s->finished(); });
  if (stepped) report_gpu_memory();
  return stepped;
}

void EngineWorker::report_gpu_memory() {
  if (models_.backends.lm->device() == Device::Cuda)
    metrics_->set_gpu_memory_peak_bytes("lm", models_.backends.lm->peak_allocated_bytes());
  if (models_.backends.codec->device() == Device::Cuda)
    metrics_->set_gpu_memory_peak_bytes("codec", models_.backends.codec->peak_allocated_bytes());
}

void EngineWorker::end_all(std::string_view code, std::string_view message) {
  for (auto& session : sessions_) {
    if (session->finished()) continue;
    metrics_->song_shut_down();
    session->fail(code, message);
  }
  sessions_.clear();
  std::lock_guard lock(mutex_);
  for (auto& p : pending_) {
    metrics_->song_shut_down();
    p.setup.listener->on_error(code, message);
  }
  pending_.clear();
  count_ = 0;
  idle_.notify_all();
  metrics_->set_queue_depth(0);
}

void EngineWorker::song_ended() {
  metrics_->add_sessions_active(-1);
  std::lock_guard lock(mutex_);
  if (--count_ == 0) idle_.notify_all();
}

}  // namespace hs::daemon
