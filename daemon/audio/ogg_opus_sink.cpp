#include "daemon/audio/ogg_opus_sink.h"

#include <utility>

namespace hs {

OggOpusSink::OggOpusSink(OggOpusWriter::ByteCallback on_bytes, OpusEncoderOptions options,
                         std::uint32_t serial_number)
    : encoder_([this](std::span<const std::uint8_t> packet) { writer_.write_packet(packet); },
               options),
      writer_(std::move(on_bytes), options.channels, encoder_.pre_skip(), serial_number) {}

void OggOpusSink::write(const float* interleaved, std::size_t frames) {
  encoder_.push(interleaved, frames);
}

void OggOpusSink::finish() {
  encoder_.finish();
  writer_.finish(encoder_.input_frames());
}

}  // namespace hs
