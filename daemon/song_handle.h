// What the network side keeps of an accepted song: its id and a cancel switch the engine worker
// reads between frame steps.
#pragma once

#include <atomic>
#include <string>
#include <utility>

namespace hs::daemon {

class SongHandle {
 public:
  explicit SongHandle(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }
  // Thread-safe; the song ends with done {reason: cancelled} at the next step.
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }
  bool cancel_requested() const { return cancel_.load(std::memory_order_relaxed); }

 private:
  std::string id_;
  std::atomic<bool> cancel_{false};
};

}  // namespace hs::daemon
