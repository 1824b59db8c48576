#include "daemon/audio/wav_file_sink.h"

#include <limits>
#include <string>

#include "daemon/audio/pcm.h"
#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::uint16_t kWavFormatPcm = 1;
constexpr std::uint16_t kBitsPerSample = 16;
constexpr std::uint32_t kBytesPerSample = kBitsPerSample / 8;
constexpr std::uint32_t kFmtChunkBytes = 16;
constexpr std::uint32_t kUnknownSize = 0xFFFFFFFF;
constexpr std::uint64_t kRiffSizeOffset = 4;
constexpr std::uint64_t kDataSizeOffset = 40;
// RIFF size = everything after the RIFF size field: "WAVE", the fmt chunk, the data chunk header.
constexpr std::uint32_t kRiffOverheadBytes = 4 + (8 + kFmtChunkBytes) + 8;
constexpr std::uint64_t kMaxDataBytes =
    std::numeric_limits<std::uint32_t>::max() - kRiffOverheadBytes;

void put_le(std::vector<std::uint8_t>& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_tag(std::vector<std::uint8_t>& out, const char (&tag)[5]) {
  out.insert(out.end(), tag, tag + 4);
}

// `path`, once the format is known to be writable; checked before the file is created.
const std::filesystem::path& checked_path(const std::filesystem::path& path, int sample_rate_hz,
                                          int channels) {
  HS_CHECK(
      sample_rate_hz > 0 && channels > 0 && channels <= std::numeric_limits<std::uint16_t>::max(),
      "WAV needs a positive sample rate and channel count for " + path.string());
  return path;
}

std::vector<std::uint8_t> le32(std::uint32_t value) {
  std::vector<std::uint8_t> out;
  put_le(out, value, 4);
  return out;
}

}  // namespace

WavFileSink::WavFileSink(const std::filesystem::path& path, int sample_rate_hz, int channels)
    : file_(checked_path(path, sample_rate_hz, channels)), channels_(channels) {
  const auto block_align = static_cast<std::uint32_t>(channels) * kBytesPerSample;
  std::vector<std::uint8_t> header;
  put_tag(header, "RIFF");
  put_le(header, kUnknownSize, 4);
  put_tag(header, "WAVE");
  put_tag(header, "fmt ");
  put_le(header, kFmtChunkBytes, 4);
  put_le(header, kWavFormatPcm, 2);
  put_le(header, static_cast<std::uint32_t>(channels), 2);
  put_le(header, static_cast<std::uint32_t>(sample_rate_hz), 4);
  put_le(header, static_cast<std::uint32_t>(sample_rate_hz) * block_align, 4);
  put_le(header, block_align, 2);
  put_le(header, kBitsPerSample, 2);
  put_tag(header, "data");
  put_le(header, kUnknownSize, 4);
  file_.write(header);
}

void WavFileSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(!finished_, "WavFileSink::write after finish: " + file_.path().string());
  const std::size_t samples = frames * static_cast<std::size_t>(channels_);
  const std::uint64_t bytes = samples * kBytesPerSample;
  if (data_bytes_ + bytes > kMaxDataBytes)
    throw Error("WAV file '" + file_.path().string() + "' would exceed the format's 4 GiB limit");
  buffer_.resize(bytes);
  for (std::size_t i = 0; i < samples; ++i) {
    const auto value = static_cast<std::uint16_t>(to_pcm16(interleaved[i]));
    buffer_[2 * i] = static_cast<std::uint8_t>(value & 0xFF);
    buffer_[2 * i + 1] = static_cast<std::uint8_t>(value >> 8);
  }
  file_.write(buffer_);
  data_bytes_ += bytes;
}

void WavFileSink::finish() {
  HS_CHECK(!finished_, "WavFileSink::finish called twice: " + file_.path().string());
  finished_ = true;
  const auto data_bytes = static_cast<std::uint32_t>(data_bytes_);
  file_.write_at(kRiffSizeOffset, le32(kRiffOverheadBytes + data_bytes));
  file_.write_at(kDataSizeOffset, le32(data_bytes));
  file_.close();
}

}  // namespace hs
