#include "engine/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hs {
namespace {

thread_local bool t_inside_parallel = false;

// Workers sleep until a job is posted, then pull chunk indices from a shared atomic counter.
class Pool {
 public:
  Pool() {
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 1; i < hw; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs the job if no other one is in flight; false when busy (the caller then runs serially).
  bool try_run(std::int64_t chunks, const std::function<void(std::int64_t)>& chunk_fn) {
    std::unique_lock busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard lock(mutex_);
      job_ = &chunk_fn;
      chunks_ = chunks;
      next_.store(0);
      error_ = nullptr;
      open_ = true;
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock lock(mutex_);
    // Every chunk is taken: wait only for the workers still running one. A worker that wakes up
    // later finds the job closed and sleeps again, so a small job never waits for a thread to wake.
    open_ = false;
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void drain() {
    t_inside_parallel = true;
    for (std::int64_t c; (c = next_.fetch_add(1)) < chunks_;) {
      try {
        (*job_)(c);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
        next_.store(chunks_);
      }
    }
    t_inside_parallel = false;
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (!open_) continue;
        ++active_;
      }
      drain();
      std::lock_guard lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::int64_t)>* job_ = nullptr;
  std::int64_t chunks_ = 0;
  std::atomic<std::int64_t> next_{0};
  int active_ = 0;     // workers inside the current job
  bool open_ = false;  // whether a waking worker may still join the current job
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool instance;
  return instance;
}

}  // namespace

int parallel_threads() { return pool().threads(); }

void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t max_chunks = std::int64_t{pool().threads()} * 4;
  const std::int64_t chunk = std::max(grain, (n + max_chunks - 1) / max_chunks);
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  if (chunks == 1 || t_inside_parallel || pool().threads() == 1) {
    fn(0, n);
    return;
  }
  const std::function<void(std::int64_t)> chunk_fn = [&](std::int64_t c) {
    fn(c * chunk, std::min(n, (c + 1) * chunk));
  };
  if (!pool().try_run(chunks, chunk_fn)) fn(0, n);
}

}  // namespace hs
