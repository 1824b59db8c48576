// `.opus` / `.ogg` files: an OggOpusSink whose pages are appended to a file as they are produced.
#pragma once

#include <cstddef>
#include <filesystem>

#include "daemon/audio/audio_sink.h"
#include "daemon/audio/binary_file.h"
#include "daemon/audio/ogg_opus_sink.h"

namespace hs {

class OggOpusFileSink final : public AudioSink {
 public:
  // Throws Error naming the path if it cannot be created.
  OggOpusFileSink(const std::filesystem::path& path, OpusEncoderOptions options);

  void write(const float* interleaved, std::size_t frames) override;
  void finish() override;

 private:
  BinaryFile file_;  // before sink_: the sink writes its header pages on construction
  OggOpusSink sink_;
};

}  // namespace hs
