#include "daemon/audio/sndfile_sink.h"

#include <sndfile.h>

#include <algorithm>
#include <string>
#include <utility>

#include "daemon/audio/pcm.h"
#include "engine/core/error.h"

namespace hs {
namespace {

int sndfile_format(SndfileFormat format) {
  switch (format) {
    case SndfileFormat::Wav16:
      return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    case SndfileFormat::Flac24:
      return SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
  }
  throw InvalidArgument("unknown SndfileFormat");
}

const char* format_name(SndfileFormat format) { return format == SndfileFormat::Wav16 ? "WAV" : "FLAC"; }

}  // namespace

SndfileSink::SndfileSink(const std::filesystem::path& path, SndfileFormat format, int sample_rate_hz, int channels)
    : path_(path), channels_(channels) {
  SF_INFO info{};
  info.samplerate = sample_rate_hz;
  info.channels = channels;
  info.format = sndfile_format(format);
  HS_CHECK(sample_rate_hz > 0 && channels > 0 && sf_format_check(&info),
           std::string(format_name(format)) + " cannot hold " + std::to_string(sample_rate_hz) + " Hz, " +
               std::to_string(channels) + " channels for " + path.string());
  file_ = sf_open(path.c_str(), SFM_WRITE, &info);
  if (file_ == nullptr)
    throw Error("cannot create '" + path.string() + "': " + sf_strerror(nullptr));
  if (format == SndfileFormat::Wav16) sf_command(file_, SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
}

SndfileSink::~SndfileSink() {
  if (file_ != nullptr) sf_close(file_);
}

void SndfileSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(file_ != nullptr, "SndfileSink::write after finish: " + path_.string());
  HS_CHECK(interleaved != nullptr || frames == 0, "SndfileSink::write got null samples");
  clamped_.resize(frames * static_cast<std::size_t>(channels_));
  std::transform(interleaved, interleaved + clamped_.size(), clamped_.begin(), clamp_sample);
  const auto wanted = static_cast<sf_count_t>(frames);
  if (sf_writef_float(file_, clamped_.data(), wanted) != wanted)
    throw Error("writing '" + path_.string() + "' failed: " + sf_strerror(file_));
}

void SndfileSink::finish() {
  HS_CHECK(file_ != nullptr, "SndfileSink::finish called twice: " + path_.string());
  const int status = sf_close(std::exchange(file_, nullptr));
  if (status != 0) throw Error("closing '" + path_.string() + "' failed: " + sf_error_number(status));
}

}  // namespace hs
