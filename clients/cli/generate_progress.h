// Progress of `heartstream generate` on stderr: on a terminal a bar redrawn every frame, otherwise a
// plain line every 10 s of audio (frames, audio seconds, ms per frame); a line when the first audio
// reaches the file; then a summary with the real-time factor and whether a listener who started
// playing at the first audio would have heard a gap (audio arriving after the audio before it had
// played out). Times count from construction, which the caller places after the models are loaded
// and before the request's prompt is built.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/pipeline/generator.h"

namespace hs::cli {

class GenerateProgress {
 public:
  using Clock = std::chrono::steady_clock;

  // `out` is where lines go; `terminal` picks the redrawn bar.
  GenerateProgress(std::FILE* out, bool terminal, std::int64_t max_frames);

  // Marks the end of one step of the request's setup (the LM's session, the codec's first graphs):
  // the time to first audio is then broken down by these marks, the first frame and the first audio.
  void mark(std::string what);
  // After each frame: `frames` generated so far.
  void on_frame(std::int64_t frames);
  // Reports the time to first audio once (later calls do nothing), with its breakdown.
  void on_first_audio(Clock::time_point at);
  // After each frame: the seconds of audio written so far; `at` is now. Tracks the playback.
  void on_audio(double audio_s, Clock::time_point at);
  // The closing summary: frames, audio written, wall time, real-time factor, stop reason.
  void finish(std::int64_t frames, double audio_s, StopReason reason);

 private:
  double ms_since_start(Clock::time_point t) const;

  std::FILE* out_;
  bool terminal_;
  std::int64_t max_frames_;
  Clock::time_point start_;
  std::optional<Clock::time_point> first_frame_at_;
  std::vector<std::pair<std::string, Clock::time_point>> marks_;
  bool first_audio_reported_ = false;
  bool bar_drawn_ = false;  // a bar line is on screen without its newline
  // Playback from the first audio on: audio available, gaps a listener would hear.
  std::optional<Clock::time_point> playback_start_;
  double audio_available_s_ = 0.0;
  double stalled_s_ = 0.0;         // gaps so far, in all
  double longest_stall_s_ = 0.0;
  int stalls_ = 0;
  std::optional<double> smallest_margin_s_;  // how early the closest-run audio arrived
};

}  // namespace hs::cli
