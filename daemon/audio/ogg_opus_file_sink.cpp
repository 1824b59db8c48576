#include "daemon/audio/ogg_opus_file_sink.h"

#include <random>

namespace hs {

OggOpusFileSink::OggOpusFileSink(const std::filesystem::path& path, OpusEncoderOptions options)
    : file_(path),
      sink_([this](std::span<const std::uint8_t> page) { file_.write(page); }, options,
            std::random_device{}()) {}

void OggOpusFileSink::write(const float* interleaved, std::size_t frames) {
  sink_.write(interleaved, frames);
}

void OggOpusFileSink::finish() {
  sink_.finish();
  file_.close();
}

}  // namespace hs
