#include "clients/cli/generate_progress.h"

#include <algorithm>
#include <string>

namespace hs::cli {
namespace {

constexpr std::int64_t kLineEveryFrames = 125;  // off a terminal: one line per 10 s of audio
constexpr int kBarWidth = 30;                  // characters between the brackets
constexpr double kMsPerSecond = 1000.0;

double audio_s_of(std::int64_t frames) { return static_cast<double>(frames * kFrameMs) / kMsPerSecond; }

}  // namespace

GenerateProgress::GenerateProgress(std::FILE* out, bool terminal, std::int64_t max_frames)
    : out_(out), terminal_(terminal), max_frames_(max_frames), start_(Clock::now()) {}

double GenerateProgress::ms_since_start(Clock::time_point t) const {
  return std::chrono::duration<double, std::milli>(t - start_).count();
}

void GenerateProgress::on_frame(std::int64_t frames) {
  const auto now = Clock::now();
  if (!first_frame_at_) first_frame_at_ = now;
  if (!terminal_ && frames % kLineEveryFrames != 0) return;
  // The first frame carries the prompt's prefill; the rate counts the frames after it.
  const double ms_per_frame =
      frames > 1 ? std::chrono::duration<double, std::milli>(now - *first_frame_at_).count() / static_cast<double>(frames - 1)
                 : 0.0;
  if (terminal_) {
    const auto filled = static_cast<int>(frames * kBarWidth / (max_frames_ > 0 ? max_frames_ : 1));
    const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                            std::string(static_cast<std::size_t>(kBarWidth - filled), '.');
    std::fprintf(out_, "\r[%s] %lld/%lld frames  %.1f s audio  %.1f ms/frame", bar.c_str(),
                 static_cast<long long>(frames), static_cast<long long>(max_frames_), audio_s_of(frames), ms_per_frame);
    bar_drawn_ = true;
  } else {
    std::fprintf(out_, "frame %lld/%lld  %.1f s audio  %.1f ms/frame\n", static_cast<long long>(frames),
                 static_cast<long long>(max_frames_), audio_s_of(frames), ms_per_frame);
  }
  std::fflush(out_);
}

void GenerateProgress::mark(std::string what) { marks_.emplace_back(std::move(what), Clock::now()); }

void GenerateProgress::on_first_audio(Clock::time_point at) {
  if (first_audio_reported_) return;
  first_audio_reported_ = true;
  std::fprintf(out_, "%stime to first audio: %.0f ms\n", bar_drawn_ ? "\n" : "", ms_since_start(at));
  if (first_frame_at_ && *first_frame_at_ <= at) {
    std::string parts;
    Clock::time_point from = start_;
    const auto part = [&](const std::string& what, Clock::time_point to) {
      char ms[32];
      std::snprintf(ms, sizeof ms, " %.0f ms", std::chrono::duration<double, std::milli>(to - from).count());
      parts += (parts.empty() ? "" : ", ") + what + ms;
      from = to;
    };
    for (const auto& [what, when] : marks_) part(what, when);
    part("the prompt and frame 0", *first_frame_at_);
    part("the next frames and the first chunk", at);
    std::fprintf(out_, "  %s\n", parts.c_str());
  }
  bar_drawn_ = false;
  std::fflush(out_);
}

void GenerateProgress::on_audio(double audio_s, Clock::time_point at) {
  if (audio_s <= audio_available_s_) return;
  if (!playback_start_) {
    playback_start_ = at;
  } else {
    // The listener has played (at − start − gaps) seconds; audio arriving later than the end of
    // what was available is a gap of the difference.
    const double played_s = std::chrono::duration<double>(at - *playback_start_).count() - stalled_s_;
    const double late_s = played_s - audio_available_s_;
    if (late_s > 0) {
      ++stalls_;
      stalled_s_ += late_s;
      longest_stall_s_ = std::max(longest_stall_s_, late_s);
    } else if (!smallest_margin_s_ || -late_s < *smallest_margin_s_) {
      smallest_margin_s_ = -late_s;
    }
  }
  audio_available_s_ = audio_s;
}

void GenerateProgress::finish(std::int64_t frames, double audio_s, StopReason reason) {
  const double wall_s = ms_since_start(Clock::now()) / kMsPerSecond;
  std::fprintf(out_, "%s%lld frames, %.2f s of audio in %.2f s (real-time factor %.3f); stopped: %s\n",
               bar_drawn_ ? "\n" : "", static_cast<long long>(frames), audio_s, wall_s,
               audio_s > 0 ? wall_s / audio_s : 0.0, std::string(stop_reason_name(reason)).c_str());
  if (playback_start_ && stalls_ > 0) {
    std::fprintf(out_, "playback from the first audio would pause %d times, %.0f ms in all (longest %.0f ms)\n",
                 stalls_, stalled_s_ * kMsPerSecond, longest_stall_s_ * kMsPerSecond);
  } else if (smallest_margin_s_) {
    std::fprintf(out_, "playback from the first audio would not pause: each chunk came at least %.0f ms early\n",
                 *smallest_margin_s_ * kMsPerSecond);
  }
  bar_drawn_ = false;
}

}  // namespace hs::cli
