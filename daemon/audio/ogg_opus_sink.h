// PCM → Ogg Opus through libopusenc → a byte callback: the `audio/ogg` body of `POST /v1/generate`,
// and (with a file as the callback's target) `.opus` / `.ogg` outputs.
//
// libopusenc writes the RFC 7845 stream: OpusHead and OpusTags pages (sent at construction), 20 ms
// packets, granule positions with the encoder's look-ahead as pre-skip, and a last page whose
// granule trims the padding so a player plays exactly the input length. Pages go out as soon as
// they hold kOggPageSamples of audio (one page per 100 ms), so a streaming listener or a growing
// file waits at most that long for bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <vector>

#include "daemon/audio/audio_sink.h"
#include "daemon/audio/opus_stream_encoder.h"
#include "daemon/audio/pcm.h"

struct OggOpusEnc;

namespace hs {

// Audio per Ogg page, in 48 kHz samples per channel: 100 ms, five 20 ms packets.
inline constexpr int kOggPageSamples = kSampleRateHz / 10;

class OggOpusSink final : public AudioSink {
 public:
  // Receives whole pages (one or more per call); the span is valid only during the call. An
  // exception it throws comes back out of the write()/finish() that produced the page.
  using ByteCallback = std::function<void(std::span<const std::uint8_t> bytes)>;

  // Emits the OpusHead and OpusTags pages through `on_bytes` at once. `serial_number` names the
  // logical stream. Throws InvalidArgument for bad options, Error if libopusenc refuses them.
  OggOpusSink(ByteCallback on_bytes, OpusEncoderOptions options, std::uint32_t serial_number);
  ~OggOpusSink() override;
  OggOpusSink(const OggOpusSink&) = delete;
  OggOpusSink& operator=(const OggOpusSink&) = delete;

  // Values are clamped to [-1, 1] (NaN to 0) before encoding.
  void write(const float* interleaved, std::size_t frames) override;
  // Encodes the rest and writes the final page (EOS, granule trimmed to the input length).
  void finish() override;

  // Samples per channel a decoder drops from the start (the OpusHead pre-skip).
  int pre_skip() const { return pre_skip_; }

 private:
  static int write_bytes(void* user_data, const unsigned char* bytes, std::int32_t size);
  static int close_stream(void* user_data);
  // Rethrows what the byte callback threw, or throws Error naming `what` for a libopusenc error.
  void check(int status, const char* what);

  ByteCallback on_bytes_;
  int channels_;
  OggOpusEnc* encoder_ = nullptr;
  int pre_skip_ = 0;
  std::vector<float> clamped_;  // one write's samples, clamped
  std::exception_ptr callback_error_;
  bool finished_ = false;
};

}  // namespace hs
