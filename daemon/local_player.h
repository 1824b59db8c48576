// The listener of `heartstreamd --play`: takes a song's PCM (Container::Pcm) from the engine
// worker into a bounded queue and plays it on an AudioSink (the PortAudio output) from its own
// thread, so the worker never waits for the sound card. A full queue pauses the song (ready()).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/audio/audio_sink.h"
#include "daemon/song_listener.h"

namespace hs::daemon {

// How a played song ended: `done` (reason eos | length | cancelled; a cancelled song stops at
// once, unplayed audio dropped), or `error` ("<code>: <message>" from the worker, or the sink's
// failure).
struct PlayResult {
  std::optional<DoneInfo> done;
  std::string error;
};

struct PlayerCallbacks {
  // On the worker thread, with the first audio: milliseconds since the player was made.
  std::function<void(double ttfa_ms)> on_first_audio;
  // On the player thread, once: everything is played, or the song was cancelled or failed.
  std::function<void(const PlayResult&)> on_finished;
};

class LocalPlayer final : public SongListener {
 public:
  // `queue_frames`: PCM (per channel) queued before the song pauses; the worker may add one codec
  // chunk beyond it.
  LocalPlayer(AudioSink& sink, std::int64_t queue_frames, PlayerCallbacks callbacks);
  // Stops the player thread (dropping unplayed audio) and joins it.
  ~LocalPlayer() override;
  LocalPlayer(const LocalPlayer&) = delete;
  LocalPlayer& operator=(const LocalPlayer&) = delete;

  void on_queued(int position) override {}
  void on_started(const StartedInfo& info) override {}
  void on_audio(std::span<const std::uint8_t> bytes) override;
  void on_progress(std::int64_t audio_ms, double rtf) override {}
  void on_done(const DoneInfo& info) override;
  void on_error(std::string_view code, std::string_view message) override;
  bool ready() const override;

 private:
  void play();
  // Under the lock: play no further (destroyed, cancelled, failed).
  bool abandoned() const;
  void end(PlayResult result);

  AudioSink* sink_;
  std::int64_t queue_frames_;
  PlayerCallbacks callbacks_;
  std::chrono::steady_clock::time_point created_at_;

  mutable std::mutex mutex_;  // guards the members below
  std::condition_variable changed_;
  std::deque<std::vector<float>> queue_;  // interleaved chunks, oldest first
  std::int64_t queued_frames_ = 0;
  bool had_audio_ = false;
  std::optional<PlayResult> ended_;  // the song's end as the worker reported it
  bool sink_failed_ = false;         // the player thread has given up: take and drop audio
  bool stopping_ = false;            // the destructor runs

  std::thread thread_;
};

}  // namespace hs::daemon
