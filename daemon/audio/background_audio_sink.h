// An AudioSink that writes on a thread of its own: write() copies the PCM into a queue and returns,
// and the thread hands it, in order, to the wrapped sink (an encoder and a file). `generate --stream`
// writes through one so that its generation loop does not wait for the encoder: Ogg Opus encodes at
// ~90x real time on one core (bench_audio), ~0.9 ms of every 80 ms frame.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/audio/audio_sink.h"

namespace hs {

class BackgroundAudioSink final : public AudioSink {
 public:
  using Clock = std::chrono::steady_clock;

  // `channels` interleaved samples per frame, as `inner` takes them.
  BackgroundAudioSink(std::unique_ptr<AudioSink> inner, int channels);
  // Without finish(), what was queued is still written, and the wrapped sink is destroyed without
  // finish() (AudioSink: the file is left as it stands).
  ~BackgroundAudioSink() override;
  BackgroundAudioSink(const BackgroundAudioSink&) = delete;
  BackgroundAudioSink& operator=(const BackgroundAudioSink&) = delete;

  // Queues a copy. Rethrows the wrapped sink's error if an earlier write failed (its queue is
  // dropped then: nothing after a failed write reaches the file).
  void write(const float* interleaved, std::size_t frames) override;
  // Waits until the queue is written, then finishes the wrapped sink; rethrows a write's error.
  void finish() override;

  // Frames per channel the wrapped sink has taken so far, and when its first write returned.
  std::int64_t frames_written() const;
  std::optional<Clock::time_point> first_written_at() const;

 private:
  void run();
  void stop_thread();
  void rethrow_error() const;

  std::unique_ptr<AudioSink> inner_;
  std::size_t channels_;
  mutable std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::vector<float>> queue_;
  bool closing_ = false;
  std::exception_ptr error_;
  std::int64_t frames_written_ = 0;
  std::optional<Clock::time_point> first_written_at_;
  std::thread thread_;
};

}  // namespace hs
