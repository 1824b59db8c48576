// What a song is started with: its handle, parameters, output container and listener, plus the
// worker-wide pacing options. Shared by the engine worker and SongSession.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "daemon/protocol.h"
#include "daemon/song_handle.h"
#include "daemon/song_listener.h"

namespace hs::daemon {

// How the encoded audio reaches the listener.
enum class Container : std::uint8_t {
  OpusPackets,  // one on_audio per 20 ms Opus packet (WebSocket binary messages)
  OggPages,     // Ogg Opus pages (audio/ogg over HTTP)
  Pcm,          // the decoder's interleaved float PCM as bytes, not encoded (local playback)
};

struct SongSetup {
  std::shared_ptr<SongHandle> handle;
  SongParams params;
  Container container = Container::OpusPackets;
  std::shared_ptr<SongListener> listener;
  std::chrono::steady_clock::time_point accepted_at;  // time to first audio counts from here
  std::chrono::steady_clock::time_point admitted_at{};  // out of the queue (the engine worker sets it)
  double preroll_s = 0;  // audio held back before the first is sent (the engine worker sets it: daemon/pacing.h)
};

struct PacingOptions {
  int chunk_frames = 16;      // StreamingConfig::chunk_frames
  int first_chunk_frames = 4;  // StreamingConfig::first_chunk_frames (song_chunking cuts it to chunk_frames)
  double lookahead_s = 10.0;  // StreamingConfig::lookahead_s
  int codec_batch = 16;       // StreamingConfig::codec_batch
  std::optional<double> preroll_s;  // StreamingConfig::preroll_s (nullopt: auto)
};

}  // namespace hs::daemon
