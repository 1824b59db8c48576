// A song's audio on its way to its listener: the engine worker hands over each piece of PCM the
// codec decoded (add), and an encoder thread (EncoderThreads) turns the pieces into Opus packets,
// Ogg pages or PCM bytes for the listener (encode), while the worker goes on with the next rounds.
// A song's pieces are encoded in order, one thread at a time, each with its own write, so the
// bytes are the same as when the worker encoded them itself. finish() and close() encode what is
// still pending first, so the song's final message follows all its audio.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/audio/audio_sink.h"
#include "daemon/metrics.h"
#include "daemon/song_listener.h"
#include "daemon/song_setup.h"

namespace hs::daemon {

class SongOutput {
 public:
  using Clock = std::chrono::steady_clock;

  // What the listener hears after a piece: on_progress(audio_ms, rtf), as the worker counted them
  // when it pulled the piece, and when the song's first frame came (for the first chunk's metric).
  struct Progress {
    std::int64_t audio_ms = 0;
    double rtf = 0;
    Clock::time_point first_frame_at;
  };

  // Opens the encoder of `container` (an Ogg stream sends its headers to the listener now, with
  // `ogg_serial`). Time to first audio counts from `accepted_at`.
  SongOutput(Container container, std::uint32_t ogg_serial, std::shared_ptr<SongListener> listener,
             Metrics& metrics, Clock::time_point accepted_at);
  // Samples per channel the client's decoder drops (the Opus encoder's look-ahead; 0 for PCM).
  int pre_skip() const { return pre_skip_; }

  // Worker: one decoded piece of interleaved stereo PCM, encoded by the next encode().
  void add(std::vector<float> pcm, Progress progress);
  // Any thread: encodes the pending pieces into the listener. An encoder error drops the pieces
  // and is kept for the worker (error()); later pieces are dropped too.
  void encode();
  // Worker, at the song's end: encodes what is pending, then ends the encoder's stream (its last
  // packets or pages). Nothing may be added after it.
  void finish();
  // Worker, when the song fails: encodes what is pending (waiting for an encode in flight), so
  // the error follows the audio already decoded.
  void close();
  // The encoder error encode() met, if any. Cheap while there is none: it takes the song's lock
  // (and so waits for an encode in flight) only after an error.
  std::optional<std::string> error() const;
  // When the first audio bytes went to the listener (after finish(): whether any did).
  std::optional<Clock::time_point> first_audio_at() const;

 private:
  void encode_locked();
  void on_bytes(std::span<const std::uint8_t> bytes);

  std::shared_ptr<SongListener> listener_;
  Metrics* metrics_;
  Clock::time_point accepted_at_;
  mutable std::mutex mutex_;  // guards everything below; held while encoding
  std::unique_ptr<AudioSink> encoder_;  // null while its constructor runs: the Ogg headers are not audio
  int pre_skip_ = 0;
  std::optional<Clock::time_point> first_audio_at_;
  Clock::time_point first_frame_at_{};  // of the piece being encoded
  std::deque<std::pair<std::vector<float>, Progress>> pending_;
  std::optional<std::string> error_;
  std::atomic<bool> failed_ = false;  // error_ is set
  bool finished_ = false;
};

}  // namespace hs::daemon
