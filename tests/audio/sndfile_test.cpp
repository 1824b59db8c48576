// WAV (16-bit) and FLAC (24-bit) from SndfileSink, read back by libsndfile.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "tests/audio/audio_decoders.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

constexpr double kPcm16Step = 1.0 / 32767.0;
constexpr double kPcm24Step = 1.0 / 8388607.0;

// Largest |decoded − clamp(input)| over all samples.
double worst_error(const std::vector<float>& input, const std::vector<float>& decoded) {
  double worst = 0.0;
  for (std::size_t i = 0; i < std::min(input.size(), decoded.size()); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(std::clamp(input[i], -1.0f, 1.0f)) - decoded[i]));
  return worst;
}

std::vector<float> clipped_tone() {
  std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  tone[100] = 1.7f;  // clipped to full scale
  tone[101] = -2.5f;
  return tone;
}

TEST(SndfileFile, WavHoldsTheInputTo16Bits) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.wav");
  const std::vector<float> tone = clipped_tone();
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const test::DecodedSndfile wav = test::decode_sndfile(path);
  EXPECT_EQ(wav.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  EXPECT_EQ(wav.audio.sample_rate_hz, 48000);
  EXPECT_EQ(wav.audio.channels, 2);
  ASSERT_EQ(wav.audio.frames(), static_cast<std::int64_t>(test::kToneFrames));
  EXPECT_LE(worst_error(tone, wav.audio.samples), kPcm16Step);
  EXPECT_NEAR(wav.audio.samples[100], 1.0f, kPcm16Step);
  EXPECT_NEAR(wav.audio.samples[101], -1.0f, kPcm16Step);
}

TEST(SndfileFile, FlacHoldsTheInputTo24Bits) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.FLAC");
  const std::vector<float> tone = clipped_tone();
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const test::DecodedSndfile flac = test::decode_sndfile(path);
  EXPECT_EQ(flac.format, SF_FORMAT_FLAC | SF_FORMAT_PCM_24);
  EXPECT_EQ(flac.audio.sample_rate_hz, 48000);
  EXPECT_EQ(flac.audio.channels, 2);
  ASSERT_EQ(flac.audio.frames(), static_cast<std::int64_t>(test::kToneFrames));
  EXPECT_LE(worst_error(tone, flac.audio.samples), kPcm24Step);
  EXPECT_LT(std::filesystem::file_size(path), test::kToneFrames * 2 * 3) << "FLAC compresses a tone";
}

TEST(SndfileFile, WavIsReadableWhileItGrows) {
  test::ScratchDir dir;
  const auto path = dir.file("stream.wav");
  const std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  auto sink = open_audio_file(path);
  sink->write(tone.data(), 4800);
  const test::DecodedSndfile partial = test::decode_sndfile(path);
  EXPECT_EQ(partial.audio.frames(), 4800);
  EXPECT_LE(worst_error(tone, partial.audio.samples), kPcm16Step);
  sink->write(tone.data() + 9600, 2400);
  sink->finish();
  EXPECT_EQ(test::decode_sndfile(path).audio.frames(), 7200);
}

TEST(SndfileFile, MonoAndOtherRatesWriteTheirHeader) {
  test::ScratchDir dir;
  const std::vector<float> left = test::channel(test::stereo_tone(100), 2, 0);
  for (const char* name : {"mono.WAV", "mono.flac"}) {
    const auto path = dir.file(name);
    auto sink = open_audio_file(path, 24000, 1);
    sink->write(left.data(), left.size());
    sink->finish();
    const test::DecodedSndfile file = test::decode_sndfile(path);
    EXPECT_EQ(file.audio.channels, 1) << name;
    EXPECT_EQ(file.audio.sample_rate_hz, 24000) << name;
    EXPECT_EQ(file.audio.frames(), 100) << name;
  }
}

}  // namespace
}  // namespace hs
