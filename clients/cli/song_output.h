// Where `heartstream generate` sends its frames: the token file (--tokens-out) and the audio file
// (--save_path). Audio is decoded offline after the last frame with the reference's window schedule
// (offline_decode.h: reference-compatible output), or with `stream` through a StreamingDecoder as
// the frames arrive, each completed chunk written at once, so the file grows while generating. The
// file is encoded and written on a thread of its own (BackgroundAudioSink), off the frame loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "daemon/audio/background_audio_sink.h"
#include "engine/core/noise.h"
#include "engine/core/tensor.h"
#include "engine/model/codec/codec_model.h"
#include "engine/pipeline/generator.h"
#include "engine/pipeline/streaming_decoder.h"

namespace hs::cli {

// generate --stream's chunk (--chunk_frames' default), for a song alone on its device: 32 code
// frames give the codec one flow solve per 2.56 s of audio instead of per 1.28 s at 16, and a solve
// takes about as long at either length, so the song needs less GPU time per second (H100, random
// weights: real-time factor 0.067 against 0.069 on one machine, 0.060 against 0.071 on another;
// benchmarks/results/solo_chunk_h100.json). The first chunks still grow from 4 frames, so the audio
// starts as early, and the decoder takes at most 16 frames a push (kDecoderPushFrames), so its
// buffers stay about as small. The daemon keeps 16: a call over many songs' longer chunks holds
// every song's frames for longer (docs/scaling.md).
inline constexpr std::int64_t kSoloChunkFrames = 32;

struct SongOutputOptions {
  std::filesystem::path tokens_out;  // .safetensors receiving `frames` I32 [8, T]; empty: none
  std::filesystem::path save_path;   // .wav | .flac | .opus | .ogg | .mp3 | .safetensors (F32 `wav`); empty: none
  bool stream = false;               // decode while generating instead of after the last frame
  std::int64_t chunk_frames = kSoloChunkFrames;  // with stream: code frames per chunk
};

class SongOutput {
 public:
  using Clock = std::chrono::steady_clock;

  // `codec` (required when save_path is set) must outlive this. The audio file is opened here, so a
  // bad path or extension fails before generation starts. The codec noise is seeded with
  // codec_noise_seed(seed), as `heartstream decode --seed` and the daemon seed it.
  SongOutput(const SongOutputOptions& options, const CodecModel* codec, std::uint64_t seed);
  SongOutput(const SongOutput&) = delete;
  SongOutput& operator=(const SongOutput&) = delete;

  // Takes one frame; FormatError naming the frame and codebook for a code the codec cannot decode.
  void push(const Frame& frame);
  // Writes the token file (seed and stop reason in its metadata), then ends the audio: decodes all
  // frames offline, or flushes the streaming decoder, waits for the file's writer and closes it.
  void finish(StopReason reason);

  // Samples per channel written to the audio file so far.
  std::int64_t audio_samples_written() const;
  // When the first audio reached the file (unset before, and always unset without --save_path).
  std::optional<Clock::time_point> first_audio_at() const;

 private:
  void write_interleaved(const std::vector<float>& pcm);

  SongOutputOptions options_;
  const CodecModel* codec_;
  std::uint64_t seed_;
  std::vector<Frame> frames_;
  std::unique_ptr<BackgroundAudioSink> sink_;
  std::unique_ptr<GaussianNoise> noise_;
  std::unique_ptr<StreamingDecoder> decoder_;  // only with stream
};

// Frames → the token tensor I32 [8, T] (codebook-major, as `--tokens-out` and `decode --tokens` use).
Tensor frames_tensor(const std::vector<Frame>& frames);

// On CUDA a kernel loads the first time it runs, and the load waits for everything on the device.
// Decoding a throwaway stream (the first chunk's frames, then the end) as --stream decodes puts the
// codec's loads in the model's load instead of in the first song's time to first audio.
void warm_up_streaming(const CodecModel& codec);

// Host F32 audio [channels, N] → `sink`, interleaved. InvalidArgument unless channels == kChannels.
void write_planar_audio(AudioSink& sink, const Tensor& audio);

}  // namespace hs::cli
