#include "daemon/local_player.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "daemon/audio/pcm.h"
#include "engine/pipeline/generator.h"

namespace hs::daemon {
namespace {

// PCM written to the sink between checks for a cancel (100 ms at 48 kHz).
constexpr std::size_t kPlaySliceFrames = 4800;

}  // namespace

LocalPlayer::LocalPlayer(AudioSink& sink, std::int64_t queue_frames, PlayerCallbacks callbacks)
    : sink_(&sink),
      queue_frames_(queue_frames),
      callbacks_(std::move(callbacks)),
      created_at_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { play(); });
}

LocalPlayer::~LocalPlayer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void LocalPlayer::on_audio(std::span<const std::uint8_t> bytes) {
  std::vector<float> pcm(bytes.size() / sizeof(float));
  std::memcpy(pcm.data(), bytes.data(), pcm.size() * sizeof(float));
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !had_audio_;
    had_audio_ = true;
    if (sink_failed_) return;
    queued_frames_ += static_cast<std::int64_t>(pcm.size() / kChannels);
    queue_.push_back(std::move(pcm));
  }
  changed_.notify_all();
  if (first && callbacks_.on_first_audio)
    callbacks_.on_first_audio(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - created_at_).count());
}

void LocalPlayer::on_done(const DoneInfo& info) { end(PlayResult{info, {}}); }

void LocalPlayer::on_error(std::string_view code, std::string_view message) {
  end(PlayResult{std::nullopt, std::string(code) + ": " + std::string(message)});
}

bool LocalPlayer::ready() const {
  std::lock_guard lock(mutex_);
  return queued_frames_ < queue_frames_;
}

void LocalPlayer::end(PlayResult result) {
  {
    std::lock_guard lock(mutex_);
    ended_ = std::move(result);
  }
  changed_.notify_all();
}

bool LocalPlayer::abandoned() const {
  if (stopping_) return true;
  if (!ended_) return false;
  return !ended_->done || ended_->done->reason == stop_reason_name(StopReason::Cancelled);
}

void LocalPlayer::play() {
  PlayResult result;
  try {
    while (true) {
      std::vector<float> chunk;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return !queue_.empty() || ended_ || stopping_; });
        if (abandoned() || queue_.empty()) break;
        chunk = std::move(queue_.front());
        queue_.pop_front();
        queued_frames_ -= static_cast<std::int64_t>(chunk.size() / kChannels);
      }
      const std::size_t frames = chunk.size() / kChannels;
      for (std::size_t at = 0; at < frames; at += kPlaySliceFrames) {
        {
          std::lock_guard lock(mutex_);
          if (abandoned()) break;
        }
        sink_->write(chunk.data() + at * kChannels, std::min(kPlaySliceFrames, frames - at));
      }
    }
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    result = *ended_;
    const bool drain = !abandoned();
    lock.unlock();
    if (drain) sink_->finish();
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    sink_failed_ = true;
    queue_.clear();
    queued_frames_ = 0;
    result = PlayResult{std::nullopt, e.what()};
  }
  changed_.notify_all();
  if (callbacks_.on_finished) callbacks_.on_finished(result);
}

}  // namespace hs::daemon
