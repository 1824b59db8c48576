#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

constexpr std::size_t kHeaderBytes = 44;

// A minimal reader for the canonical 44-byte PCM header.
struct Wav {
  std::string riff, wave, fmt, data;
  std::uint32_t riff_size = 0, fmt_size = 0, sample_rate = 0, byte_rate = 0, data_size = 0;
  std::uint16_t format = 0, channels = 0, block_align = 0, bits = 0;
  std::vector<std::int16_t> samples;
};

std::uint32_t le(const std::vector<std::uint8_t>& b, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
  return v;
}

Wav parse_wav(const std::vector<std::uint8_t>& b) {
  Wav w;
  if (b.size() < kHeaderBytes) {
    ADD_FAILURE() << "file shorter than a WAV header: " << b.size();
    return w;
  }
  auto tag = [&](std::size_t at) { return std::string(b.begin() + at, b.begin() + at + 4); };
  w.riff = tag(0), w.riff_size = le(b, 4, 4), w.wave = tag(8);
  w.fmt = tag(12), w.fmt_size = le(b, 16, 4), w.format = le(b, 20, 2), w.channels = le(b, 22, 2);
  w.sample_rate = le(b, 24, 4), w.byte_rate = le(b, 28, 4), w.block_align = le(b, 32, 2);
  w.bits = le(b, 34, 2), w.data = tag(36), w.data_size = le(b, 40, 4);
  for (std::size_t at = kHeaderBytes; at + 1 < b.size(); at += 2)
    w.samples.push_back(static_cast<std::int16_t>(le(b, at, 2)));
  return w;
}

TEST(WavFile, HeaderAndSamplesMatchTheInput) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.wav");
  std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  tone[100] = 1.7f;  // clipped to full scale
  tone[101] = -2.5f;
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const std::vector<std::uint8_t> bytes = test::read_bytes(path);
  const Wav w = parse_wav(bytes);
  const std::uint32_t data_bytes = static_cast<std::uint32_t>(test::kToneFrames * 2 * 2);
  EXPECT_EQ(w.riff, "RIFF");
  EXPECT_EQ(w.riff_size, bytes.size() - 8);
  EXPECT_EQ(w.wave, "WAVE");
  EXPECT_EQ(w.fmt, "fmt ");
  EXPECT_EQ(w.fmt_size, 16u);
  EXPECT_EQ(w.format, 1u);
  EXPECT_EQ(w.channels, 2u);
  EXPECT_EQ(w.sample_rate, 48000u);
  EXPECT_EQ(w.byte_rate, 48000u * 4);
  EXPECT_EQ(w.block_align, 4u);
  EXPECT_EQ(w.bits, 16u);
  EXPECT_EQ(w.data, "data");
  EXPECT_EQ(w.data_size, data_bytes);
  EXPECT_EQ(bytes.size(), kHeaderBytes + data_bytes);
  ASSERT_EQ(w.samples.size(), tone.size());
  int worst = 0;
  for (std::size_t i = 0; i < tone.size(); ++i) {
    const long expected = std::lround(std::clamp(tone[i], -1.0f, 1.0f) * 32767.0);
    worst = std::max(worst, static_cast<int>(std::labs(expected - w.samples[i])));
  }
  EXPECT_LE(worst, 1);
  EXPECT_EQ(w.samples[100], 32767);
  EXPECT_EQ(w.samples[101], -32767);
}

TEST(WavFile, GrowsWhileStreamingAndSizesAreFixedAtFinish) {
  test::ScratchDir dir;
  const auto path = dir.file("stream.wav");
  const std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  auto sink = open_audio_file(path);
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes);
  sink->write(tone.data(), 4800);
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes + 4800 * 4);
  const Wav partial = parse_wav(test::read_bytes(path));
  EXPECT_EQ(partial.data_size, 0xFFFFFFFFu) << "unknown length while streaming";
  EXPECT_EQ(partial.samples.size(), 9600u);
  sink->write(tone.data() + 9600, 2400);
  sink->finish();
  const Wav done = parse_wav(test::read_bytes(path));
  EXPECT_EQ(done.data_size, 7200u * 4);
  EXPECT_EQ(done.riff_size, 36u + 7200 * 4);
}

TEST(WavFile, MonoAndOtherRatesWriteTheirHeader) {
  test::ScratchDir dir;
  const auto path = dir.file("mono.WAV");
  auto sink = open_audio_file(path, 24000, 1);
  const std::vector<float> left = test::channel(test::stereo_tone(100), 2, 0);
  sink->write(left.data(), left.size());
  sink->finish();
  const Wav w = parse_wav(test::read_bytes(path));
  EXPECT_EQ(w.channels, 1u);
  EXPECT_EQ(w.sample_rate, 24000u);
  EXPECT_EQ(w.byte_rate, 48000u);
  EXPECT_EQ(w.block_align, 2u);
  EXPECT_EQ(w.samples.size(), 100u);
}

}  // namespace
}  // namespace hs
