// 16-bit PCM WAV (RIFF) written progressively: the header goes out first with "unknown length"
// sizes (0xFFFFFFFF, which streaming readers take as "read to end of file"), samples are appended
// as they arrive, and finish() patches the real RIFF and data sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "daemon/audio/audio_sink.h"
#include "daemon/audio/binary_file.h"

namespace hs {

class WavFileSink final : public AudioSink {
 public:
  // Throws Error naming the path if it cannot be created.
  WavFileSink(const std::filesystem::path& path, int sample_rate_hz, int channels);

  void write(const float* interleaved, std::size_t frames) override;
  void finish() override;

 private:
  BinaryFile file_;
  int channels_;
  std::uint64_t data_bytes_ = 0;
  std::vector<std::uint8_t> buffer_;  // one write's samples as little-endian int16
  bool finished_ = false;
};

}  // namespace hs
