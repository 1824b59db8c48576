// Progress of `heartstream generate` on stderr: on a terminal a bar redrawn every frame, otherwise a
// plain line every 10 s of audio (frames, audio seconds, ms per frame); a line when the first audio
// reaches the file; then a summary with the real-time factor. Times count from construction, which
// the caller places after the models are loaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "engine/pipeline/generator.h"

namespace hs::cli {

class GenerateProgress {
 public:
  using Clock = std::chrono::steady_clock;

  // `out` is where lines go; `terminal` picks the redrawn bar.
  GenerateProgress(std::FILE* out, bool terminal, std::int64_t max_frames);

  // After each frame: `frames` generated so far.
  void on_frame(std::int64_t frames);
  // Reports the time to first audio once (later calls do nothing).
  void on_first_audio(Clock::time_point at);
  // The closing summary: frames, audio written, wall time, real-time factor, stop reason.
  void finish(std::int64_t frames, double audio_s, StopReason reason);

 private:
  double ms_since_start(Clock::time_point t) const;

  std::FILE* out_;
  bool terminal_;
  std::int64_t max_frames_;
  Clock::time_point start_;
  std::optional<Clock::time_point> first_frame_at_;
  bool first_audio_reported_ = false;
  bool bar_drawn_ = false;  // a bar line is on screen without its newline
};

}  // namespace hs::cli
