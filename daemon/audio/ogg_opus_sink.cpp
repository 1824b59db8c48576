#include "daemon/audio/ogg_opus_sink.h"

#include <opus/opusenc.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <utility>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr int kMappingFamilyMonoStereo = 0;  // RFC 7845 channel mapping family 0: 1 or 2 channels
// libopusenc holds this much input back to choose frame sizes (2 s by default); a live stream
// encodes each 20 ms frame as soon as it is complete instead.
constexpr int kDecisionDelaySamples = 0;

using Comments = std::unique_ptr<OggOpusComments, decltype(&ope_comments_destroy)>;

}  // namespace

OggOpusSink::OggOpusSink(ByteCallback on_bytes, OpusEncoderOptions options, std::uint32_t serial_number)
    : on_bytes_(std::move(on_bytes)), channels_(options.channels) {
  HS_CHECK(on_bytes_, "OggOpusSink needs a byte callback");
  check_opus_options(options);
  const Comments comments(ope_comments_create(), ope_comments_destroy);
  if (!comments) throw Error("Ogg Opus encoder: ope_comments_create failed");
  OpusEncCallbacks callbacks{&OggOpusSink::write_bytes, &OggOpusSink::close_stream};
  int status = OPE_OK;
  encoder_ = ope_encoder_create_callbacks(&callbacks, this, comments.get(), kSampleRateHz, channels_,
                                          kMappingFamilyMonoStereo, &status);
  if (encoder_ == nullptr) check(status == OPE_OK ? OPE_INTERNAL_ERROR : status, "ope_encoder_create_callbacks");
  try {
    check(ope_encoder_ctl(encoder_, OPUS_SET_BITRATE(options.bitrate_bps)), "OPUS_SET_BITRATE");
    check(ope_encoder_ctl(encoder_, OPUS_SET_COMPLEXITY(options.complexity)), "OPUS_SET_COMPLEXITY");
    check(ope_encoder_ctl(encoder_, OPE_SET_SERIALNO(static_cast<int>(serial_number))), "OPE_SET_SERIALNO");
    check(ope_encoder_ctl(encoder_, OPE_SET_DECISION_DELAY(kDecisionDelaySamples)), "OPE_SET_DECISION_DELAY");
    check(ope_encoder_ctl(encoder_, OPE_SET_MUXING_DELAY(kOggPageSamples)), "OPE_SET_MUXING_DELAY");
    check(ope_encoder_ctl(encoder_, OPUS_GET_LOOKAHEAD(&pre_skip_)), "OPUS_GET_LOOKAHEAD");
    check(ope_encoder_flush_header(encoder_), "ope_encoder_flush_header");
    // libopusenc (0.2.1) sets a stream's end only on a write, so a song ended before any audio
    // would end on an uninitialised granule; an empty write sets it to the start.
    constexpr float kNoSamples[kChannels] = {};
    check(ope_encoder_write_float(encoder_, kNoSamples, 0), "ope_encoder_write_float");
  } catch (...) {
    ope_encoder_destroy(encoder_);
    throw;
  }
}

OggOpusSink::~OggOpusSink() { ope_encoder_destroy(encoder_); }

void OggOpusSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(!finished_, "OggOpusSink::write after finish");
  HS_CHECK(interleaved != nullptr || frames == 0, "OggOpusSink::write got null samples");
  const auto channels = static_cast<std::size_t>(channels_);
  while (frames > 0) {
    const std::size_t take = std::min<std::size_t>(frames, INT_MAX / channels);
    clamped_.resize(take * channels);
    std::transform(interleaved, interleaved + take * channels, clamped_.begin(), clamp_sample);
    check(ope_encoder_write_float(encoder_, clamped_.data(), static_cast<int>(take)), "ope_encoder_write_float");
    interleaved += take * channels;
    frames -= take;
  }
}

void OggOpusSink::finish() {
  HS_CHECK(!finished_, "OggOpusSink::finish called twice");
  finished_ = true;
  check(ope_encoder_drain(encoder_), "ope_encoder_drain");
}

int OggOpusSink::write_bytes(void* user_data, const unsigned char* bytes, std::int32_t size) {
  auto* self = static_cast<OggOpusSink*>(user_data);
  try {
    self->on_bytes_(std::span<const std::uint8_t>(bytes, static_cast<std::size_t>(size)));
    return 0;
  } catch (...) {  // no exception may cross libopusenc's C frames; check() rethrows it
    self->callback_error_ = std::current_exception();
    return 1;
  }
}

int OggOpusSink::close_stream(void* /*user_data*/) { return 0; }  // the callback's owner closes

void OggOpusSink::check(int status, const char* what) {
  if (callback_error_) std::rethrow_exception(std::exchange(callback_error_, nullptr));
  if (status != OPE_OK) throw Error(std::string("Ogg Opus encoder: ") + what + " failed: " + ope_strerror(status));
}

}  // namespace hs
