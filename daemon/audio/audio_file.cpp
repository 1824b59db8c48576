#include "daemon/audio/audio_file.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "daemon/audio/mp3_file_sink.h"
#include "daemon/audio/ogg_opus_file_sink.h"
#include "daemon/audio/safetensors_file_sink.h"
#include "daemon/audio/sndfile_sink.h"
#include "engine/core/error.h"

namespace hs {
namespace {

std::string lowercase_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

std::string supported_list() {
  std::string list;
  for (std::string_view ext : kAudioFileExtensions)
    list += (list.empty() ? "" : ", ") + std::string(ext);
  return list;
}

}  // namespace

std::unique_ptr<AudioSink> open_audio_file(const std::filesystem::path& path, int sample_rate_hz,
                                           int channels) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".wav") return std::make_unique<SndfileSink>(path, SndfileFormat::Wav16, sample_rate_hz, channels);
  if (ext == ".flac") return std::make_unique<SndfileSink>(path, SndfileFormat::Flac24, sample_rate_hz, channels);
  if (ext == ".mp3") return std::make_unique<Mp3FileSink>(path, sample_rate_hz, channels);
  if (ext == ".safetensors")
    return std::make_unique<SafetensorsFileSink>(path, sample_rate_hz, channels);
  if (ext == ".opus" || ext == ".ogg") {
    HS_CHECK(sample_rate_hz == kSampleRateHz && (channels == 1 || channels == 2),
             "Ogg Opus output takes 48000 Hz mono or stereo, got " +
                 std::to_string(sample_rate_hz) + " Hz, " + std::to_string(channels) +
                 " channels for " + path.string());
    OpusEncoderOptions options;
    options.channels = channels;
    return std::make_unique<OggOpusFileSink>(path, options);
  }
  throw InvalidArgument("audio output file '" + path.string() + "': unknown extension '" + ext +
                        "' (supported: " + supported_list() + ")");
}

}  // namespace hs
