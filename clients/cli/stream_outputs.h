// Where `heartstream stream` puts a song's Opus packets as they arrive: decoded to PCM for an
// AudioSink (an audio file by open_audio_file, .opus/.ogg re-encoded by libopusenc, or the
// PortAudio output).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "daemon/audio/audio_sink.h"

namespace hs::cli {

class PacketOutput {
 public:
  virtual ~PacketOutput() = default;
  // From `started`: samples per channel the decoder drops at the start.
  virtual void start(int pre_skip) = 0;
  // One 20 ms Opus packet (48 kHz stereo), in stream order.
  virtual void packet(std::span<const std::uint8_t> packet) = 0;
  // The song's `done`: it holds `audio_ms` of audio; the rest of the last packet is padding.
  virtual void finish(std::int64_t audio_ms) = 0;
};

// Decodes with libopus, drops pre_skip, trims the padding, and writes to `sink`.
std::unique_ptr<PacketOutput> decoded_output(std::unique_ptr<AudioSink> sink);

}  // namespace hs::cli
