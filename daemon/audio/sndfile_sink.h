// `.wav` (16-bit PCM) and `.flac` (24-bit) files through libsndfile, written as audio arrives. WAV
// sizes in the header are rewritten after every write (SFC_SET_UPDATE_HEADER_AUTO), so a reader
// following the growing file always sees a valid file; FLAC's STREAMINFO is completed at finish.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "daemon/audio/audio_sink.h"

struct sf_private_tag;

namespace hs {

enum class SndfileFormat { Wav16, Flac24 };

class SndfileSink final : public AudioSink {
 public:
  // Throws InvalidArgument when the format cannot hold the rate or channel count, Error naming the
  // path and libsndfile's reason when the file cannot be created.
  SndfileSink(const std::filesystem::path& path, SndfileFormat format, int sample_rate_hz, int channels);
  ~SndfileSink() override;  // closes if finish() was not called (what was written stays)
  SndfileSink(const SndfileSink&) = delete;
  SndfileSink& operator=(const SndfileSink&) = delete;

  // Values are clamped to [-1, 1] (NaN to 0); Error naming the path if the write fails.
  void write(const float* interleaved, std::size_t frames) override;
  // Closes the file; Error naming the path if libsndfile reports a failure.
  void finish() override;

 private:
  std::filesystem::path path_;
  sf_private_tag* file_ = nullptr;
  int channels_;
  std::vector<float> clamped_;  // one write's samples, clamped
};

}  // namespace hs
