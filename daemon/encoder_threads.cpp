#include "daemon/encoder_threads.h"

#include <algorithm>

namespace hs::daemon {

EncoderThreads::EncoderThreads(int threads, std::function<void(double)> on_encoded)
    : on_encoded_(std::move(on_encoded)) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { work(); });
}

EncoderThreads::~EncoderThreads() {
  wait();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
}

int EncoderThreads::default_threads(unsigned cores) { return std::clamp(static_cast<int>(cores / 2), 1, 8); }

double EncoderThreads::encode(std::vector<std::shared_ptr<SongOutput>> outputs) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return unfinished_ == 0; });
  const auto now = std::chrono::steady_clock::now();
  if (!outputs.empty()) {
    tasks_.insert(tasks_.end(), std::make_move_iterator(outputs.begin()), std::make_move_iterator(outputs.end()));
    unfinished_ = static_cast<int>(outputs.size());
    handed_over_at_ = now;
    work_.notify_all();
  }
  return std::chrono::duration<double>(now - start).count();
}

void EncoderThreads::wait() {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return unfinished_ == 0; });
}

void EncoderThreads::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, nothing left
    const std::shared_ptr<SongOutput> output = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    output->encode();
    lock.lock();
    if (--unfinished_ == 0) {
      on_encoded_(std::chrono::duration<double>(std::chrono::steady_clock::now() - handed_over_at_).count());
      done_.notify_all();
    }
  }
}

}  // namespace hs::daemon
