// Raw float output for parity checks: one tensor `wav`, F32 [channels, frames] (the reference's
// layout), plus metadata {"sample_rate": "<Hz>"}. Samples are kept unclamped in memory and the
// file is written once at finish() (safetensors needs its header, and so every size, first).
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "daemon/audio/audio_sink.h"

namespace hs {

inline constexpr const char* kSafetensorsAudioTensor = "wav";

class SafetensorsFileSink final : public AudioSink {
 public:
  // Throws Error naming the path if its folder does not exist or is not writable, so a bad path
  // fails before generation rather than at the end.
  SafetensorsFileSink(std::filesystem::path path, int sample_rate_hz, int channels);

  void write(const float* interleaved, std::size_t frames) override;
  void finish() override;

 private:
  std::filesystem::path path_;
  int sample_rate_hz_;
  std::vector<std::vector<float>> channels_;  // one growing vector per channel
  bool finished_ = false;
};

}  // namespace hs
