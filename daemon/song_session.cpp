#include "daemon/song_session.h"

#include <algorithm>
#include <random>

#include "engine/pipeline/song_seed.h"
#include "engine/text/prompt.h"

namespace hs::daemon {
namespace {

StreamingDecoderOptions decoder_options(const PacingOptions& pacing, CodecBatch& batch) {
  StreamingDecoderOptions options = song_chunking(pacing.chunk_frames, pacing.first_chunk_frames);
  options.batch = &batch;
  return options;
}

std::uint64_t choose_seed(const SongParams& params) {
  if (params.seed) return *params.seed;
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

GenerationRequest make_request(const EngineModels& models, const SongParams& p, std::uint64_t seed) {
  const auto cfg_scale = static_cast<float>(p.cfg_scale);
  return GenerationRequest{build_prompt(models.tokenizer, models.gen, p.tags, p.lyrics, cfg_scale),
                           p.max_audio_length_ms,
                           {.temperature = static_cast<float>(p.temperature), .topk = p.topk, .cfg_scale = cfg_scale},
                           seed,
                           models.codec->config().codebook_size};
}

}  // namespace

SongSession::SongSession(const EngineModels& models, FrameBatch& batch, CodecBatch& codec_batch, SongSetup setup,
                         const PacingOptions& pacing, Metrics& metrics, std::function<void()> on_ending)
    : setup_(std::move(setup)),
      pacing_(pacing),
      metrics_(&metrics),
      on_ending_(std::move(on_ending)),
      seed_(choose_seed(setup_.params)),
      generator_(models.mula, models.gen, make_request(models, setup_.params, seed_), &batch),
      codec_noise_(codec_noise_seed(seed_)),
      decoder_(*models.codec, codec_noise_, decoder_options(pacing, codec_batch)),
      started_at_(Clock::now()),
      output_(std::make_shared<SongOutput>(setup_.container, static_cast<std::uint32_t>(seed_), setup_.listener,
                                           metrics, setup_.accepted_at)) {
  listener().on_started(StartedInfo{id(), output_->pre_skip(), seed_});
}

Pace SongSession::pace(Clock::time_point now) const {
  if (setup_.handle->cancel_requested()) return Pace::Due;
  if (!listener().ready()) return Pace::Hold;
  if (!first_audio_at_) return Pace::Due;
  // Frames, not the audio sent: that comes a chunk at a time, and counted the lead jumped by 1.28 s.
  const double generated_s = static_cast<double>(generator_.frames_emitted() * kFrameMs) / 1000.0;
  const double lead_s = generated_s - std::chrono::duration<double>(now - *first_audio_at_).count();
  return song_pace(lead_s, pacing_.lookahead_s, lockstep_band_s(pacing_.lookahead_s));
}

double SongSession::ahead_s(Clock::time_point now) const {
  if (!first_audio_at_) return 0.0;
  return audio_s() - std::chrono::duration<double>(now - *first_audio_at_).count();
}

double SongSession::update_lag(Clock::time_point now) {
  const double lag = std::max(0.0, std::chrono::duration<double>(now - started_at_).count() - audio_s());
  max_lag_s_ = std::max(max_lag_s_, lag);
  return lag;
}

void SongSession::step() {
  if (finished_) return;
  if (setup_.handle->cancel_requested()) generator_.cancel();
  const std::optional<Frame> frame = generator_.next();
  if (!frame) {
    if (generator_.prefilling()) return;  // its prompt goes on next round
    finish(generator_.stop_reason().value_or(StopReason::Cancelled));
    return;
  }
  metrics_->add_frames(1);
  if (!first_frame_at_) {
    first_frame_at_ = Clock::now();
    metrics_->observe_first_frame(std::chrono::duration<double>(*first_frame_at_ - setup_.admitted_at).count());
  }
  decoder_.push(*frame);
}

void SongSession::fail(std::string_view code, std::string_view message) {
  if (finished_) return;
  output_->close();
  end();
  listener().on_error(code, message);
}

bool SongSession::pull_audio() {
  std::vector<float> pcm = decoder_.pull();  // interleaved stereo
  if (!first_audio_at_) {  // the pre-roll: held until there is enough, or the song has ended
    held_.insert(held_.end(), pcm.begin(), pcm.end());
    const double held_s = static_cast<double>(held_.size() / kChannels) / kSampleRateHz;
    if (held_s < setup_.preroll_s && !decoder_.finished()) return false;
    pcm = std::move(held_);
  }
  if (pcm.empty()) return false;
  const auto now = Clock::now();
  if (!first_audio_at_) first_audio_at_ = now;
  pcm_frames_ += static_cast<std::int64_t>(pcm.size() / kChannels);
  output_->add(std::move(pcm), {.audio_ms = static_cast<std::int64_t>(audio_s() * 1000.0),
                                .rtf = rtf(now),
                                .first_frame_at = first_frame_at_.value_or(now)});
  return true;
}

void SongSession::finish(StopReason reason) {
  if (reason != StopReason::Cancelled) {
    decoder_.finish();
    pull_audio();
  }
  output_->finish();
  end();
  const auto now = Clock::now();
  const std::optional<Clock::time_point> first_audio_sent = output_->first_audio_at();
  const double ttfa_ms =
      first_audio_sent ? std::chrono::duration<double, std::milli>(*first_audio_sent - setup_.accepted_at).count() : 0.0;
  const std::string_view name = stop_reason_name(reason);
  metrics_->song_finished(name, rtf(now));
  listener().on_done(DoneInfo{name, static_cast<std::int64_t>(audio_s() * 1000.0), ttfa_ms, rtf(now)});
}

void SongSession::end() {
  finished_ = true;
  update_lag(Clock::now());
  metrics_->observe_song_lag(max_lag_s_);
  if (on_ending_) on_ending_();
}

double SongSession::audio_s() const { return static_cast<double>(pcm_frames_) / kSampleRateHz; }

double SongSession::rtf(Clock::time_point now) const {
  const double audio = audio_s();
  return audio > 0 ? std::chrono::duration<double>(now - started_at_).count() / audio : 0.0;
}

}  // namespace hs::daemon
