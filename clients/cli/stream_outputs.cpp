#include "clients/cli/stream_outputs.h"

#include <algorithm>
#include <vector>

#include <opus/opus.h>

#include "daemon/audio/pcm.h"
#include "engine/core/error.h"

namespace hs::cli {
namespace {

constexpr std::int64_t kSamplesPerMs = kSampleRateHz / 1000;
constexpr int kMaxOpusFrameSamples = 5760;  // 120 ms at 48 kHz, libopus' largest frame

// Holds one packet's PCM back until the next arrives, so finish() can trim the last one's padding.
class DecodedOutput final : public PacketOutput {
 public:
  explicit DecodedOutput(std::unique_ptr<AudioSink> sink)
      : sink_(std::move(sink)), decoded_(static_cast<std::size_t>(kMaxOpusFrameSamples) * kChannels) {
    int err = OPUS_OK;
    decoder_ = opus_decoder_create(kSampleRateHz, kChannels, &err);
    if (err != OPUS_OK) throw Error(std::string("opus_decoder_create: ") + opus_strerror(err));
  }
  ~DecodedOutput() override { opus_decoder_destroy(decoder_); }
  DecodedOutput(const DecodedOutput&) = delete;
  DecodedOutput& operator=(const DecodedOutput&) = delete;

  void start(int pre_skip) override { to_skip_ = pre_skip; }

  void packet(std::span<const std::uint8_t> packet) override {
    const int frames = opus_decode_float(decoder_, packet.data(), static_cast<opus_int32>(packet.size()),
                                         decoded_.data(), kMaxOpusFrameSamples, 0);
    if (frames < 0) throw Error(std::string("a packet from the server does not decode: ") + opus_strerror(frames));
    const int skip = std::min(frames, to_skip_);
    to_skip_ -= skip;
    write_held(held_.size() / kChannels);
    held_.assign(decoded_.begin() + skip * kChannels, decoded_.begin() + frames * kChannels);
  }

  void finish(std::int64_t audio_ms) override {
    const std::int64_t left = std::max<std::int64_t>(0, audio_ms * kSamplesPerMs - written_frames_);
    write_held(static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(held_.size() / kChannels))));
    sink_->finish();
  }

 private:
  void write_held(std::size_t frames) {
    if (frames == 0) return;
    sink_->write(held_.data(), frames);
    written_frames_ += static_cast<std::int64_t>(frames);
  }

  std::unique_ptr<AudioSink> sink_;
  OpusDecoder* decoder_ = nullptr;
  std::vector<float> decoded_;  // one packet, interleaved
  std::vector<float> held_;     // the last packet's PCM after pre-skip, not yet written
  int to_skip_ = 0;
  std::int64_t written_frames_ = 0;
};

}  // namespace

std::unique_ptr<PacketOutput> decoded_output(std::unique_ptr<AudioSink> sink) {
  return std::make_unique<DecodedOutput>(std::move(sink));
}

}  // namespace hs::cli
