#include "daemon/song_output.h"

#include <exception>

#include "daemon/audio/ogg_opus_sink.h"
#include "daemon/audio/opus_stream_encoder.h"

namespace hs::daemon {
namespace {

// Opus packets straight to a callback, as an AudioSink.
class OpusPacketSink final : public AudioSink {
 public:
  explicit OpusPacketSink(OpusStreamEncoder::PacketCallback on_packet) : encoder_(std::move(on_packet)) {}
  void write(const float* interleaved, std::size_t frames) override { encoder_.push(interleaved, frames); }
  void finish() override { encoder_.finish(); }
  int pre_skip() const { return encoder_.pre_skip(); }

 private:
  OpusStreamEncoder encoder_;
};

// Unencoded PCM straight to a callback, as bytes (Container::Pcm).
class PcmBytesSink final : public AudioSink {
 public:
  explicit PcmBytesSink(OpusStreamEncoder::PacketCallback on_bytes) : on_bytes_(std::move(on_bytes)) {}
  void write(const float* interleaved, std::size_t frames) override {
    on_bytes_({reinterpret_cast<const std::uint8_t*>(interleaved), frames * kChannels * sizeof(float)});
  }
  void finish() override {}

 private:
  OpusStreamEncoder::PacketCallback on_bytes_;
};

}  // namespace

SongOutput::SongOutput(Container container, std::uint32_t ogg_serial, std::shared_ptr<SongListener> listener,
                       Metrics& metrics, Clock::time_point accepted_at)
    : listener_(std::move(listener)), metrics_(&metrics), accepted_at_(accepted_at) {
  auto on_bytes = [this](std::span<const std::uint8_t> bytes) { this->on_bytes(bytes); };
  if (container == Container::OpusPackets) {
    auto sink = std::make_unique<OpusPacketSink>(on_bytes);
    pre_skip_ = sink->pre_skip();
    encoder_ = std::move(sink);
  } else if (container == Container::Pcm) {
    encoder_ = std::make_unique<PcmBytesSink>(on_bytes);  // pre_skip_ stays 0: nothing to drop
  } else {
    auto sink = std::make_unique<OggOpusSink>(on_bytes, OpusEncoderOptions{}, ogg_serial);  // sends the headers
    pre_skip_ = sink->pre_skip();
    encoder_ = std::move(sink);
  }
}

void SongOutput::add(std::vector<float> pcm, Progress progress) {
  std::lock_guard lock(mutex_);
  pending_.emplace_back(std::move(pcm), progress);
}

void SongOutput::encode() {
  std::lock_guard lock(mutex_);
  encode_locked();
}

void SongOutput::finish() {
  std::lock_guard lock(mutex_);
  encode_locked();
  if (!error_ && !finished_) encoder_->finish();
  finished_ = true;
}

void SongOutput::close() {
  std::lock_guard lock(mutex_);
  encode_locked();
}

std::optional<std::string> SongOutput::error() const {
  if (!failed_) return std::nullopt;
  std::lock_guard lock(mutex_);
  return error_;
}

std::optional<SongOutput::Clock::time_point> SongOutput::first_audio_at() const {
  std::lock_guard lock(mutex_);
  return first_audio_at_;
}

void SongOutput::encode_locked() {
  while (!pending_.empty() && !error_ && !finished_) {
    auto [pcm, progress] = std::move(pending_.front());
    pending_.pop_front();
    first_frame_at_ = progress.first_frame_at;
    try {  // on an encoder thread nothing may escape
      encoder_->write(pcm.data(), pcm.size() / kChannels);
      listener_->on_progress(progress.audio_ms, progress.rtf);
    } catch (const std::exception& e) {
      error_ = std::string("encoding its audio failed: ") + e.what();
      failed_ = true;
      break;
    }
  }
  pending_.clear();
}

void SongOutput::on_bytes(std::span<const std::uint8_t> bytes) {
  if (encoder_ && !first_audio_at_) {
    const Clock::time_point now = Clock::now();
    first_audio_at_ = now;
    metrics_->observe_ttfa(std::chrono::duration<double>(now - accepted_at_).count());
    metrics_->observe_first_chunk(std::chrono::duration<double>(now - first_frame_at_).count());
  }
  listener_->on_audio(bytes);
}

}  // namespace hs::daemon
