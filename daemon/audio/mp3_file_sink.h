// MP3 via LAME, written progressively: constant 192 kb/s joint stereo (predictable size and a
// steady byte rate while streaming). LAME's first frame is an Info (Xing) tag placeholder;
// finish() flushes the encoder and rewrites that frame with the final tag, which carries the
// length and the encoder delay/padding that gapless players trim.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "daemon/audio/audio_sink.h"
#include "daemon/audio/binary_file.h"

struct lame_global_struct;

namespace hs {

inline constexpr int kMp3BitrateKbps = 192;

class Mp3FileSink final : public AudioSink {
 public:
  // Throws InvalidArgument for a rate or channel count LAME cannot take, Error naming the path if
  // it cannot be created.
  Mp3FileSink(const std::filesystem::path& path, int sample_rate_hz, int channels);

  void write(const float* interleaved, std::size_t frames) override;
  void finish() override;

 private:
  struct LameCloser {
    void operator()(lame_global_struct* lame) const;
  };

  using LamePtr = std::unique_ptr<lame_global_struct, LameCloser>;

  // A configured LAME encoder; throws before any file is created.
  static LamePtr open_lame(const std::filesystem::path& path, int sample_rate_hz, int channels);
  void write_encoded(int bytes, const char* what);

  LamePtr lame_;
  BinaryFile file_;
  int channels_;
  std::vector<float> clamped_;     // one write's samples, clamped
  std::vector<std::uint8_t> mp3_;  // LAME's output buffer
  bool finished_ = false;
};

}  // namespace hs
