// The threads that encode songs' audio beside the engine worker (SongOutput::encode). After each
// codec call the worker hands over the outputs of the songs it decoded; it waits only for the
// previous call's to be encoded before handing over the next, so a call's encoding overlaps the
// rounds after it instead of holding every song (on an H200 it was 14 % of the worker's time at
// 64 songs when the worker waited for it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/song_output.h"

namespace hs::daemon {

class EncoderThreads {
 public:
  // `on_encoded(seconds)` is told, on an encoder thread, how long each hand-over took to encode
  // (from hand-over to its last output).
  EncoderThreads(int threads, std::function<void(double)> on_encoded);
  // Waits for what was handed over, then joins the threads.
  ~EncoderThreads();
  EncoderThreads(const EncoderThreads&) = delete;
  EncoderThreads& operator=(const EncoderThreads&) = delete;

  // Waits until the last hand-over is encoded, then hands `outputs` over (nothing with none).
  // Returns the seconds it waited.
  double encode(std::vector<std::shared_ptr<SongOutput>> outputs);
  // Waits until everything handed over is encoded.
  void wait();

  // The threads a daemon uses on a host of `cores` cores: half of them, 1 to 8.
  static int default_threads(unsigned cores);

 private:
  void work();

  std::function<void(double)> on_encoded_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<SongOutput>> tasks_;
  int unfinished_ = 0;  // outputs of the last hand-over not yet encoded
  std::chrono::steady_clock::time_point handed_over_at_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hs::daemon
