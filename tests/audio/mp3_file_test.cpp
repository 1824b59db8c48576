// MP3 from Mp3FileSink (LAME), decoded by mpg123 with gapless trimming from the LAME Info tag.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "tests/audio/audio_decoders.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

constexpr double kMinSnrDb = 20.0;
constexpr int kBitrateKbps = 192;

TEST(Mp3File, DecodesBackWithTheInputsLengthAndTones) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.mp3");
  const std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const test::DecodedMp3 mp3 = test::decode_mp3(path);
  EXPECT_EQ(mp3.audio.sample_rate_hz, 48000);
  EXPECT_EQ(mp3.audio.channels, 2);
  EXPECT_EQ(mp3.bitrate_kbps, kBitrateKbps);
  EXPECT_TRUE(mp3.cbr);
  // The Info tag (rewritten at finish) carries the encoder delay and padding; trimmed by them, the
  // decoded audio is exactly the input, sample for sample in time.
  ASSERT_EQ(mp3.audio.frames(), static_cast<std::int64_t>(test::kToneFrames));
  const std::vector<float> left = test::channel(mp3.audio.samples, 2, 0);
  const std::vector<float> right = test::channel(mp3.audio.samples, 2, 1);
  EXPECT_GT(test::snr_db(test::channel(tone, 2, 0), left), kMinSnrDb);
  EXPECT_GT(test::snr_db(test::channel(tone, 2, 1), right), kMinSnrDb);
  EXPECT_NEAR(test::tone_amplitude(left, test::kLeftToneHz, test::kToneRateHz), test::kLeftAmplitude, 0.05);
  EXPECT_LT(test::tone_amplitude(left, test::kRightToneHz, test::kToneRateHz), 0.01);
  EXPECT_NEAR(test::tone_amplitude(right, test::kRightToneHz, test::kToneRateHz), test::kRightAmplitude, 0.05);
  EXPECT_LT(test::tone_amplitude(right, test::kLeftToneHz, test::kToneRateHz), 0.01);
}

TEST(Mp3File, GrowsWhileStreaming) {
  test::ScratchDir dir;
  const auto path = dir.file("stream.mp3");
  const std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  auto sink = open_audio_file(path);
  sink->write(tone.data(), test::kToneFrames);
  const auto streamed = std::filesystem::file_size(path);
  // 1.3 s at 192 kb/s is ~31 kB; all but LAME's look-ahead of a few frames is out already.
  EXPECT_GT(streamed, 25'000u);
  sink->finish();
  EXPECT_GT(std::filesystem::file_size(path), streamed);
}

TEST(Mp3File, MonoDecodes) {
  test::ScratchDir dir;
  const auto path = dir.file("mono.mp3");
  const std::vector<float> left = test::channel(test::stereo_tone(test::kToneFrames), 2, 0);
  auto sink = open_audio_file(path, 48000, 1);
  test::push_in_chunks(left, 1, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();
  const test::DecodedMp3 mp3 = test::decode_mp3(path);
  EXPECT_EQ(mp3.audio.channels, 1);
  ASSERT_EQ(mp3.audio.frames(), static_cast<std::int64_t>(test::kToneFrames));
  EXPECT_GT(test::snr_db(left, mp3.audio.samples), kMinSnrDb);
}

}  // namespace
}  // namespace hs
