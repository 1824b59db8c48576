#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "daemon/audio/ogg_opus_sink.h"
#include "daemon/audio/opus_stream_encoder.h"
#include "tests/audio/audio_test_util.h"
#include "tests/audio/ogg_opus_reader.h"

namespace hs {
namespace {

using test::kToneFrames;

constexpr double kMinSnrDb = 20.0;
constexpr int kMaxPageGapSamples = kSampleRateHz / 5;  // pages at least every 200 ms of audio

int libopus_lookahead() {
  const OpusStreamEncoder probe([](std::span<const std::uint8_t>) {});
  return probe.pre_skip();
}

// Decoded audio with the pre-skip dropped and the end trimmed to the final granule, as a player
// plays it.
std::vector<float> playable(const test::OggOpusContents& ogg) {
  const auto begin = static_cast<std::size_t>(ogg.pre_skip * ogg.channels);
  const auto end = static_cast<std::size_t>(ogg.pages.back().granule * ogg.channels);
  EXPECT_LE(end, ogg.decoded.size()) << "final granule beyond the decoded samples";
  if (end > ogg.decoded.size() || begin > end) return {};
  return {ogg.decoded.begin() + static_cast<std::ptrdiff_t>(begin),
          ogg.decoded.begin() + static_cast<std::ptrdiff_t>(end)};
}

TEST(OggOpus, FileDecodesBackToTheInput) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.opus");
  const std::vector<float> tone = test::stereo_tone(kToneFrames);
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const test::OggOpusContents ogg = test::read_ogg_opus(test::read_bytes(path));
  EXPECT_EQ(ogg.sync_errors, 0);
  EXPECT_EQ(ogg.packet_gaps, 0);
  EXPECT_EQ(ogg.version, 1);
  EXPECT_EQ(ogg.channels, 2);
  EXPECT_EQ(ogg.pre_skip, libopus_lookahead());
  EXPECT_GT(ogg.pre_skip, 0);
  EXPECT_EQ(ogg.input_rate_hz, 48000u);
  EXPECT_EQ(ogg.output_gain, 0);
  EXPECT_EQ(ogg.mapping_family, 0);
  EXPECT_NE(ogg.vendor.find("libopus"), std::string::npos) << ogg.vendor;

  // RFC 7845: OpusHead alone on a BOS page, OpusTags ends its own page, both with granule 0.
  ASSERT_GE(ogg.pages.size(), 3u);
  EXPECT_TRUE(ogg.pages[0].bos);
  EXPECT_EQ(ogg.pages[0].packets_completed, 1);
  EXPECT_EQ(ogg.pages[0].granule, 0);
  EXPECT_EQ(ogg.pages[1].packets_completed, 1);
  EXPECT_EQ(ogg.pages[1].granule, 0);
  for (std::size_t i = 1; i < ogg.pages.size(); ++i) {
    EXPECT_FALSE(ogg.pages[i].bos) << "page " << i;
    EXPECT_EQ(ogg.pages[i].eos, i + 1 == ogg.pages.size()) << "page " << i;
    EXPECT_GE(ogg.pages[i].granule, ogg.pages[i - 1].granule) << "page " << i;
    if (i >= 2) {
      EXPECT_LE(ogg.pages[i].granule - ogg.pages[i - 1].granule, kMaxPageGapSamples) << i;
    }
  }

  // The final granule trims the padding: the playable length is exactly the input length, and
  // every decoded packet is needed to reach it.
  const std::int64_t final_granule = ogg.pages.back().granule;
  EXPECT_EQ(final_granule - ogg.pre_skip, static_cast<std::int64_t>(kToneFrames));
  const auto decoded_frames = static_cast<std::int64_t>(ogg.decoded.size() / 2);
  EXPECT_GE(decoded_frames, final_granule);
  EXPECT_LT(decoded_frames - final_granule, kOpusFrameSamples);

  const std::vector<float> audio = playable(ogg);
  ASSERT_EQ(audio.size(), tone.size());
  for (int c = 0; c < 2; ++c) {
    const std::vector<float> ref = test::channel(tone, 2, c);
    const std::vector<float> got = test::channel(audio, 2, c);
    EXPECT_GT(test::snr_db(ref, got), kMinSnrDb) << "channel " << c;
  }
  const std::vector<float> left = test::channel(audio, 2, 0);
  const std::vector<float> right = test::channel(audio, 2, 1);
  EXPECT_NEAR(test::tone_amplitude(left, test::kLeftToneHz, test::kToneRateHz),
              test::kLeftAmplitude, 0.05);
  EXPECT_LT(test::tone_amplitude(left, test::kRightToneHz, test::kToneRateHz), 0.01);
  EXPECT_NEAR(test::tone_amplitude(right, test::kRightToneHz, test::kToneRateHz),
              test::kRightAmplitude, 0.05);
  EXPECT_LT(test::tone_amplitude(right, test::kLeftToneHz, test::kToneRateHz), 0.01);
}

TEST(OggOpus, PagesStreamOutBeforeFinish) {
  std::vector<std::uint8_t> bytes;
  std::size_t calls = 0;
  OggOpusSink sink(
      [&](std::span<const std::uint8_t> page) {
        bytes.insert(bytes.end(), page.begin(), page.end());
        ++calls;
      },
      OpusEncoderOptions{}, 1234);
  EXPECT_EQ(calls, 2u) << "OpusHead and OpusTags pages are emitted at construction";

  const std::vector<float> tone = test::stereo_tone(kToneFrames);
  const std::size_t first_second = 48000;
  sink.write(tone.data(), first_second);
  {
    const test::OggOpusContents partial = test::read_ogg_opus(bytes);
    EXPECT_EQ(partial.sync_errors, 0);
    ASSERT_FALSE(partial.pages.empty());
    EXPECT_FALSE(partial.pages.back().eos);
    // Everything but the last 200 ms of what was written is already out as whole pages.
    EXPECT_GE(partial.pages.back().granule,
              static_cast<std::int64_t>(first_second) - kMaxPageGapSamples);
    EXPECT_EQ(partial.pages.back().end_offset, bytes.size()) << "every callback is whole pages";
  }
  sink.write(tone.data() + 2 * first_second, kToneFrames - first_second);
  sink.finish();
  const test::OggOpusContents ogg = test::read_ogg_opus(bytes);
  EXPECT_EQ(ogg.sync_errors, 0);
  EXPECT_TRUE(ogg.pages.back().eos);
  EXPECT_EQ(ogg.pages.back().granule - ogg.pre_skip, static_cast<std::int64_t>(kToneFrames));
}

TEST(OggOpus, EmptyStreamIsValidAndHasZeroLength) {
  std::vector<std::uint8_t> bytes;
  OggOpusSink sink(
      [&](std::span<const std::uint8_t> page) {
        bytes.insert(bytes.end(), page.begin(), page.end());
      },
      OpusEncoderOptions{}, 7);
  sink.finish();
  const test::OggOpusContents ogg = test::read_ogg_opus(bytes);
  EXPECT_EQ(ogg.sync_errors, 0);
  ASSERT_EQ(ogg.pages.size(), 3u);
  EXPECT_TRUE(ogg.pages.back().eos);
  EXPECT_EQ(ogg.pages.back().granule, ogg.pre_skip);
  EXPECT_EQ(ogg.audio_packets, 1u);
}

TEST(OggOpus, MonoFileDecodes) {
  test::ScratchDir dir;
  const auto path = dir.file("mono.ogg");
  const std::vector<float> left = test::channel(test::stereo_tone(kToneFrames), 2, 0);
  auto sink = open_audio_file(path, 48000, 1);
  test::push_in_chunks(left, 1, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();
  const test::OggOpusContents ogg = test::read_ogg_opus(test::read_bytes(path));
  EXPECT_EQ(ogg.channels, 1);
  const std::vector<float> audio = playable(ogg);
  ASSERT_EQ(audio.size(), left.size());
  EXPECT_GT(test::snr_db(left, audio), kMinSnrDb);
}

}  // namespace
}  // namespace hs
