#include "daemon/audio/opus_stream_encoder.h"

#include <opus/opus.h>

#include <algorithm>
#include <string>
#include <utility>

#include "engine/core/error.h"

namespace hs {
namespace {

// libopus' recommended upper bound for one packet's buffer.
constexpr int kMaxPacketBytes = 4000;
constexpr int kMaxComplexity = 10;

void check_opus(int status, const char* what) {
  if (status < 0)
    throw Error(std::string("Opus encoder: ") + what + " failed: " + opus_strerror(status));
}

}  // namespace

void check_opus_options(const OpusEncoderOptions& options) {
  HS_CHECK(options.channels == 1 || options.channels == 2,
           "Opus output supports 1 or 2 channels, got " + std::to_string(options.channels));
  HS_CHECK(options.bitrate_bps > 0, "Opus bitrate must be positive");
  HS_CHECK(options.complexity >= 0 && options.complexity <= kMaxComplexity,
           "Opus complexity must be in 0..10");
}

OpusStreamEncoder::OpusStreamEncoder(PacketCallback on_packet, OpusEncoderOptions options)
    : on_packet_(std::move(on_packet)), options_(options) {
  HS_CHECK(on_packet_, "OpusStreamEncoder needs a packet callback");
  check_opus_options(options_);
  int status = OPUS_OK;
  encoder_ = opus_encoder_create(kSampleRateHz, options_.channels, OPUS_APPLICATION_AUDIO, &status);
  check_opus(status, "opus_encoder_create");
  try {
    check_opus(opus_encoder_ctl(encoder_, OPUS_SET_BITRATE(options_.bitrate_bps)),
               "OPUS_SET_BITRATE");
    check_opus(opus_encoder_ctl(encoder_, OPUS_SET_COMPLEXITY(options_.complexity)),
               "OPUS_SET_COMPLEXITY");
    check_opus(opus_encoder_ctl(encoder_, OPUS_GET_LOOKAHEAD(&pre_skip_)), "OPUS_GET_LOOKAHEAD");
  } catch (...) {
    opus_encoder_destroy(encoder_);
    throw;
  }
  pending_.resize(static_cast<std::size_t>(kOpusFrameSamples * options_.channels));
  packet_.resize(kMaxPacketBytes);
}

OpusStreamEncoder::~OpusStreamEncoder() { opus_encoder_destroy(encoder_); }

void OpusStreamEncoder::push(const float* interleaved, std::size_t frames) {
  HS_CHECK(!finished_, "OpusStreamEncoder::push after finish");
  HS_CHECK(interleaved != nullptr || frames == 0, "OpusStreamEncoder::push got null samples");
  const auto channels = static_cast<std::size_t>(options_.channels);
  const auto frame_capacity = static_cast<std::size_t>(kOpusFrameSamples);
  while (frames > 0) {
    const std::size_t take = std::min(frames, frame_capacity - pending_frames_);
    float* dst = pending_.data() + pending_frames_ * channels;
    std::transform(interleaved, interleaved + take * channels, dst, clamp_sample);
    interleaved += take * channels;
    frames -= take;
    pending_frames_ += take;
    input_frames_ += static_cast<std::int64_t>(take);
    if (pending_frames_ == frame_capacity) encode_pending();
  }
}

void OpusStreamEncoder::finish() {
  HS_CHECK(!finished_, "OpusStreamEncoder::finish called twice");
  const std::int64_t needed = pre_skip_ + input_frames_;
  const std::int64_t total_packets =
      std::max<std::int64_t>(1, (needed + kOpusFrameSamples - 1) / kOpusFrameSamples);
  const auto channels = static_cast<std::size_t>(options_.channels);
  while (packets_ < total_packets) {
    std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(pending_frames_ * channels),
              pending_.end(), 0.0f);
    encode_pending();
  }
  finished_ = true;
}

void OpusStreamEncoder::encode_pending() {
  const opus_int32 bytes = opus_encode_float(encoder_, pending_.data(), kOpusFrameSamples,
                                             packet_.data(), kMaxPacketBytes);
  check_opus(bytes, "opus_encode_float");
  pending_frames_ = 0;
  ++packets_;
  on_packet_(std::span<const std::uint8_t>(packet_.data(), static_cast<std::size_t>(bytes)));
}

}  // namespace hs
