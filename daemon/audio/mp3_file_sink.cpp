#include "daemon/audio/mp3_file_sink.h"

#include <lame/lame.h>

#include <algorithm>
#include <string>

#include "daemon/audio/pcm.h"
#include "engine/core/error.h"

namespace hs {
namespace {

// LAME's algorithm quality, 0 (best, slowest) .. 9: 2 is its "near-best, not too slow".
constexpr int kLameQuality = 2;
// Output buffer bound from lame.h: 1.25 × samples per channel + 7200 bytes.
constexpr std::size_t kMp3BufferSlackBytes = 7200;
std::size_t mp3_buffer_bytes(std::size_t frames) {
  return frames + frames / 4 + kMp3BufferSlackBytes;
}

}  // namespace

void Mp3FileSink::LameCloser::operator()(lame_global_struct* lame) const { lame_close(lame); }

Mp3FileSink::Mp3FileSink(const std::filesystem::path& path, int sample_rate_hz, int channels)
    : lame_(open_lame(path, sample_rate_hz, channels)), file_(path), channels_(channels) {}

Mp3FileSink::LamePtr Mp3FileSink::open_lame(const std::filesystem::path& path, int sample_rate_hz,
                                            int channels) {
  HS_CHECK(channels == 1 || channels == 2,
           "MP3 output supports 1 or 2 channels, got " + std::to_string(channels));
  LamePtr lame(lame_init());
  if (!lame) throw Error("MP3 encoder: lame_init failed for " + path.string());
  lame_set_in_samplerate(lame.get(), sample_rate_hz);
  lame_set_out_samplerate(lame.get(), sample_rate_hz);
  lame_set_num_channels(lame.get(), channels);
  lame_set_mode(lame.get(), channels == 2 ? JOINT_STEREO : MONO);
  lame_set_VBR(lame.get(), vbr_off);
  lame_set_brate(lame.get(), kMp3BitrateKbps);
  lame_set_quality(lame.get(), kLameQuality);
  lame_set_bWriteVbrTag(lame.get(), 1);
  if (lame_init_params(lame.get()) < 0)
    throw InvalidArgument("MP3 encoder: LAME rejects " + std::to_string(sample_rate_hz) + " Hz, " +
                          std::to_string(channels) + " channels at " +
                          std::to_string(kMp3BitrateKbps) + " kb/s for " + path.string());
  return lame;
}

void Mp3FileSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(!finished_, "Mp3FileSink::write after finish: " + file_.path().string());
  if (frames == 0) return;
  const std::size_t samples = frames * static_cast<std::size_t>(channels_);
  clamped_.resize(samples);
  std::transform(interleaved, interleaved + samples, clamped_.begin(), clamp_sample);
  mp3_.resize(mp3_buffer_bytes(frames));
  const int n = static_cast<int>(frames);
  const int size = static_cast<int>(mp3_.size());
  const int bytes = channels_ == 2 ? lame_encode_buffer_interleaved_ieee_float(
                                         lame_.get(), clamped_.data(), n, mp3_.data(), size)
                                   : lame_encode_buffer_ieee_float(lame_.get(), clamped_.data(),
                                                                   nullptr, n, mp3_.data(), size);
  write_encoded(bytes, "lame_encode_buffer");
}

void Mp3FileSink::finish() {
  HS_CHECK(!finished_, "Mp3FileSink::finish called twice: " + file_.path().string());
  finished_ = true;
  mp3_.resize(mp3_buffer_bytes(0));
  write_encoded(lame_encode_flush(lame_.get(), mp3_.data(), static_cast<int>(mp3_.size())),
                "lame_encode_flush");
  // The Info tag frame is at most one frame; a frame fits the flush buffer's slack.
  const std::size_t tag_bytes = lame_get_lametag_frame(lame_.get(), mp3_.data(), mp3_.size());
  if (tag_bytes == 0 || tag_bytes > mp3_.size())
    throw Error("MP3 encoder: no Info tag frame for " + file_.path().string());
  file_.write_at(0, std::span<const std::uint8_t>(mp3_.data(), tag_bytes));
  file_.close();
}

void Mp3FileSink::write_encoded(int bytes, const char* what) {
  if (bytes < 0)
    throw Error(std::string("MP3 encoder: ") + what + " failed (" + std::to_string(bytes) +
                ") for " + file_.path().string());
  file_.write(std::span<const std::uint8_t>(mp3_.data(), static_cast<std::size_t>(bytes)));
}

}  // namespace hs
