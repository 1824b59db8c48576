#include "daemon/audio/background_audio_sink.h"

#include <utility>

#include "engine/core/error.h"

namespace hs {

BackgroundAudioSink::BackgroundAudioSink(std::unique_ptr<AudioSink> inner, int channels)
    : inner_(std::move(inner)), channels_(static_cast<std::size_t>(channels)) {
  HS_CHECK(inner_ != nullptr, "BackgroundAudioSink needs a sink");
  HS_CHECK(channels > 0, "BackgroundAudioSink needs at least one channel");
  thread_ = std::thread([this] { run(); });
}

BackgroundAudioSink::~BackgroundAudioSink() { stop_thread(); }

void BackgroundAudioSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(interleaved != nullptr || frames == 0, "BackgroundAudioSink::write got null samples");
  std::vector<float> pcm(interleaved, interleaved + frames * channels_);
  {
    std::lock_guard lock(mutex_);
    HS_CHECK(!closing_, "BackgroundAudioSink::write after finish");
    rethrow_error();
    if (pcm.empty()) return;
    queue_.push_back(std::move(pcm));
  }
  queued_.notify_one();
}

void BackgroundAudioSink::finish() {
  {
    std::lock_guard lock(mutex_);
    HS_CHECK(!closing_, "BackgroundAudioSink::finish called twice");
  }
  stop_thread();
  rethrow_error();
  inner_->finish();
}

std::int64_t BackgroundAudioSink::frames_written() const {
  std::lock_guard lock(mutex_);
  return frames_written_;
}

std::optional<BackgroundAudioSink::Clock::time_point> BackgroundAudioSink::first_written_at() const {
  std::lock_guard lock(mutex_);
  return first_written_at_;
}

void BackgroundAudioSink::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    queued_.wait(lock, [this] { return closing_ || !queue_.empty(); });
    if (queue_.empty()) return;  // closing, and everything written
    const std::vector<float> pcm = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::exception_ptr error;
    try {
      inner_->write(pcm.data(), pcm.size() / channels_);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error) {
      error_ = error;
      queue_.clear();
      continue;
    }
    frames_written_ += static_cast<std::int64_t>(pcm.size() / channels_);
    if (!first_written_at_) first_written_at_ = Clock::now();
  }
}

void BackgroundAudioSink::stop_thread() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  queued_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BackgroundAudioSink::rethrow_error() const {
  if (error_) std::rethrow_exception(error_);
}

}  // namespace hs
