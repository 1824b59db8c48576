// PCM → Opus → Ogg pages → a byte callback: the `audio/ogg` body of `POST /v1/generate`, and
// (with a file as the callback's target) `.opus` / `.ogg` outputs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "daemon/audio/audio_sink.h"
#include "daemon/audio/ogg_opus_writer.h"
#include "daemon/audio/opus_stream_encoder.h"

namespace hs {

class OggOpusSink final : public AudioSink {
 public:
  // Emits the two header pages through `on_bytes` at once, then audio pages every 100 ms of input.
  OggOpusSink(OggOpusWriter::ByteCallback on_bytes, OpusEncoderOptions options,
              std::uint32_t serial_number);

  void write(const float* interleaved, std::size_t frames) override;
  // Flushes the encoder and writes the final page (EOS, trimmed granule).
  void finish() override;

  int pre_skip() const { return encoder_.pre_skip(); }

 private:
  // The encoder comes first: the writer's OpusHead needs its pre-skip. Its callback feeds the
  // writer, which exists by the time the first packet is pushed.
  OpusStreamEncoder encoder_;
  OggOpusWriter writer_;
};

}  // namespace hs
