// One song inside the engine worker: Generator → StreamingDecoder → Opus (packets or Ogg pages) or
// plain PCM → its SongListener. step() advances it by one frame; the worker interleaves many
// sessions and paces them (daemon/pacing.h: listener full, or too far ahead of real-time playback).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/audio/pcm.h"
#include "daemon/engine_models.h"
#include "daemon/metrics.h"
#include "daemon/pacing.h"
#include "daemon/protocol.h"
#include "daemon/song_output.h"
#include "daemon/song_setup.h"
#include "engine/core/noise.h"
#include "engine/pipeline/generator.h"
#include "engine/pipeline/codec_batch.h"
#include "engine/pipeline/streaming_decoder.h"

namespace hs::daemon {

class SongSession {
 public:
  using Clock = std::chrono::steady_clock;

  // Builds the prompt, the generator, the decoder and the encoder, then sends `started`. Throws
  // InvalidArgument for a request the engine cannot take (the worker turns it into an error).
  // `on_ending` runs once, just before the final `done`/`error` goes to the listener, so a client
  // that has its `done` never sees the song still counted as running.
  // The song's LM runs in `batch` (the worker's), one frame per FrameBatch::step.
  // Its codec chunks are held for `codec_batch` (the worker's): after CodecBatch::run, pull_audio()
  // hands what they decoded to its output.
  SongSession(const EngineModels& models, FrameBatch& batch, CodecBatch& codec_batch, SongSetup setup,
              const PacingOptions& pacing, Metrics& metrics, std::function<void()> on_ending);

  const std::string& id() const { return setup_.handle->id(); }
  Generator& generator() { return generator_; }
  StreamingDecoder& decoder() { return decoder_; }
  const SongParams& params() const { return setup_.params; }
  SongListener& listener() const { return *setup_.listener; }
  bool finished() const { return finished_; }
  // Its pace this round (daemon/pacing.h): Hold while the listener is full or its frames run the
  // look-ahead or more ahead of real time (counted from the first audio). A cancelled song is Due.
  Pace pace(Clock::time_point now) const;
  // Seconds of audio sent beyond what a 1× listener has played (0 before the first audio).
  double ahead_s(Clock::time_point now) const;
  // Whether its first audio has been pulled.
  bool playing() const { return first_audio_at_.has_value(); }
  // Rounds its decoder's held chunk has waited for a codec call (EngineWorker::decode_audio).
  int codec_wait_rounds = 0;
  // Seconds of audio the song lacks behind the wall time since it started (0 while ahead), also
  // kept as the song's largest lag, which is observed when it ends.
  double update_lag(Clock::time_point now);
  // One frame into the decoder, or the end of the song (flushes, then `done`).
  void step();
  // Hands what the decoder has completed to its output (encoded there later: EncoderThreads);
  // returns whether there was any. Before its first audio it holds what comes until the pre-roll
  // (SongSetup::preroll_s) is full or the song has ended.
  bool pull_audio();
  // Where its audio is encoded and sent.
  const std::shared_ptr<SongOutput>& output() const { return output_; }
  // Ends the song with an `error` (after the audio already decoded).
  void fail(std::string_view code, std::string_view message);

 private:
  void finish(StopReason reason);
  void end();  // marks the session finished and runs on_ending
  double audio_s() const;
  double rtf(Clock::time_point now) const;

  SongSetup setup_;
  PacingOptions pacing_;
  Metrics* metrics_;
  std::function<void()> on_ending_;
  std::uint64_t seed_;
  Generator generator_;
  GaussianNoise codec_noise_;  // the decoder's flow-matching noise, seeded from the song's seed
  StreamingDecoder decoder_;
  Clock::time_point started_at_;
  std::shared_ptr<SongOutput> output_;  // shared with the encoder threads
  std::optional<Clock::time_point> first_frame_at_;
  std::optional<Clock::time_point> first_audio_at_;  // its first audio was pulled (pacing counts from here)
  std::vector<float> held_;      // the pre-roll's audio until it goes out (SongSetup::preroll_s)
  std::int64_t pcm_frames_ = 0;  // per channel, handed to the output
  double max_lag_s_ = 0;
  bool finished_ = false;
};

}  // namespace hs::daemon
