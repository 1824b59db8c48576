// Where a song's output goes: implemented by the network side (a WebSocket connection, a streaming
// HTTP response) and by the local player. The engine worker calls it from its own thread, and a
// song's audio and progress from its encoder threads (daemon/encoder_threads.h: one thread at a
// time per song, in stream order; different songs' at once); an implementation hands the data to
// its own executor and must not block.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "daemon/protocol.h"

namespace hs::daemon {

class SongListener {
 public:
  virtual ~SongListener() = default;

  // The song waits in the admission queue at `position` (1: next to start); heard when it is
  // queued and whenever the position changes, before on_started. A queued song may also end
  // (on_done cancelled, on_error shutdown) without starting.
  virtual void on_queued(int position) = 0;
  virtual void on_started(const StartedInfo& info) = 0;
  // Audio in stream order: one Opus packet (Container::OpusPackets), a run of Ogg pages
  // (Container::OggPages) or interleaved float PCM (Container::Pcm).
  virtual void on_audio(std::span<const std::uint8_t> bytes) = 0;
  virtual void on_progress(std::int64_t audio_ms, double rtf) = 0;
  // Exactly one of on_done / on_error ends every song the worker accepted.
  virtual void on_done(const DoneInfo& info) = 0;
  virtual void on_error(std::string_view code, std::string_view message) = 0;
  // False while the listener cannot take more (its send queue is full): the song is paused.
  virtual bool ready() const = 0;
};

}  // namespace hs::daemon
