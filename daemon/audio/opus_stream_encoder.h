// Streaming Opus encoder: interleaved float PCM in (any number of frames per push), one 20 ms Opus
// packet out through a callback as soon as its 960 samples per channel have arrived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "daemon/audio/pcm.h"

struct OpusEncoder;

namespace hs {

inline constexpr int kOpusFrameMs = 20;
inline constexpr int kOpusFrameSamples = kSampleRateHz * kOpusFrameMs / 1000;  // per channel: 960

struct OpusEncoderOptions {
  // 1 or 2; input is always 48 kHz.
  int channels = kChannels;
  // Total over all channels, VBR (libopus' default); transparent for stereo music.
  int bitrate_bps = 128'000;
  // 0..10; 10 is libopus' default and still over 100× faster than real time (bench_audio).
  int complexity = 10;
};

// Throws InvalidArgument naming the bad option (channels not 1 or 2, bitrate not positive,
// complexity outside 0..10).
void check_opus_options(const OpusEncoderOptions& options);

class OpusStreamEncoder {
 public:
  // Receives each packet; the span is valid only during the call. Every packet holds
  // kOpusFrameSamples samples per channel.
  using PacketCallback = std::function<void(std::span<const std::uint8_t> packet)>;

  // Throws InvalidArgument for bad options, Error if libopus refuses them.
  OpusStreamEncoder(PacketCallback on_packet, OpusEncoderOptions options = {});
  ~OpusStreamEncoder();
  OpusStreamEncoder(const OpusStreamEncoder&) = delete;
  OpusStreamEncoder& operator=(const OpusStreamEncoder&) = delete;

  // Samples per channel (at 48 kHz) a decoder must drop from the start of its output: the encoder's
  // look-ahead (OPUS_GET_LOOKAHEAD). It is the Ogg Opus pre-skip and the protocol's `pre_skip`.
  int pre_skip() const { return pre_skip_; }
  int channels() const { return options_.channels; }

  // `frames` samples per channel, interleaved; values are clamped to [-1, 1].
  void push(const float* interleaved, std::size_t frames);
  // Encodes silence after the last input until the decoded output covers pre_skip() + input
  // frames, i.e. the whole input survives the decoder's look-ahead; packets stop after this.
  void finish();

  std::int64_t input_frames() const { return input_frames_; }  // per channel, pushed so far
  std::int64_t packets() const { return packets_; }            // emitted so far

 private:
  void encode_pending();

  PacketCallback on_packet_;
  OpusEncoderOptions options_;
  OpusEncoder* encoder_ = nullptr;
  int pre_skip_ = 0;
  std::vector<float> pending_;  // one frame, interleaved; filled up to pending_frames_
  std::size_t pending_frames_ = 0;
  std::vector<std::uint8_t> packet_;  // output buffer for one packet
  std::int64_t input_frames_ = 0;
  std::int64_t packets_ = 0;
  bool finished_ = false;
};

}  // namespace hs
