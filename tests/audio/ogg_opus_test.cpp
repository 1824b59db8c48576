// Ogg Opus from OggOpusSink (libopusenc), decoded by libopusfile and walked page by page by libogg.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "daemon/audio/ogg_opus_sink.h"
#include "daemon/audio/opus_stream_encoder.h"
#include "engine/core/error.h"
#include "tests/audio/audio_decoders.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

using test::kToneFrames;

constexpr double kMinSnrDb = 20.0;
constexpr int kMaxPageGapSamples = kSampleRateHz / 5;  // pages at least every 200 ms of audio

int libopus_lookahead() {
  const OpusStreamEncoder probe([](std::span<const std::uint8_t>) {});
  return probe.pre_skip();
}

TEST(OggOpus, FileDecodesBackToTheInput) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.opus");
  const std::vector<float> tone = test::stereo_tone(kToneFrames);
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const std::vector<std::uint8_t> bytes = test::read_bytes(path);
  const test::DecodedOggOpus ogg = test::decode_ogg_opus(bytes);
  EXPECT_EQ(ogg.audio.channels, 2);
  EXPECT_EQ(ogg.pre_skip, libopus_lookahead());
  EXPECT_GT(ogg.pre_skip, 0);
  EXPECT_EQ(ogg.input_rate_hz, 48000u);
  EXPECT_EQ(ogg.output_gain, 0);
  EXPECT_EQ(ogg.mapping_family, 0);
  EXPECT_EQ(ogg.links, 1);
  EXPECT_NE(ogg.vendor.find("libopus"), std::string::npos) << ogg.vendor;
  // Pre-skip and end trimming are exact: a player plays the input's length, no more, no less.
  EXPECT_EQ(ogg.pcm_total, static_cast<std::int64_t>(kToneFrames));
  ASSERT_EQ(ogg.audio.frames(), static_cast<std::int64_t>(kToneFrames));

  // RFC 7845: OpusHead alone on a BOS page, OpusTags ends its own page, both with granule 0;
  // audio pages follow at most 200 ms of audio apart, the last one with EOS.
  const test::OggPages walk = test::ogg_pages(bytes);
  EXPECT_EQ(walk.sync_errors, 0);
  const std::vector<test::OggPage>& pages = walk.pages;
  ASSERT_GE(pages.size(), 3u);
  EXPECT_TRUE(pages[0].bos);
  EXPECT_EQ(pages[0].packets_completed, 1);
  EXPECT_EQ(pages[0].granule, 0);
  EXPECT_EQ(pages[1].packets_completed, 1);
  EXPECT_EQ(pages[1].granule, 0);
  for (std::size_t i = 1; i < pages.size(); ++i) {
    EXPECT_FALSE(pages[i].bos) << "page " << i;
    EXPECT_EQ(pages[i].eos, i + 1 == pages.size()) << "page " << i;
    if (i >= 2) {
      EXPECT_LE(pages[i].granule - pages[i - 1].granule, kMaxPageGapSamples) << "page " << i;
    }
  }

  const std::vector<float>& audio = ogg.audio.samples;
  for (int c = 0; c < 2; ++c) {
    const std::vector<float> ref = test::channel(tone, 2, c);
    const std::vector<float> got = test::channel(audio, 2, c);
    EXPECT_GT(test::snr_db(ref, got), kMinSnrDb) << "channel " << c;
  }
  const std::vector<float> left = test::channel(audio, 2, 0);
  const std::vector<float> right = test::channel(audio, 2, 1);
  EXPECT_NEAR(test::tone_amplitude(left, test::kLeftToneHz, test::kToneRateHz), test::kLeftAmplitude, 0.05);
  EXPECT_LT(test::tone_amplitude(left, test::kRightToneHz, test::kToneRateHz), 0.01);
  EXPECT_NEAR(test::tone_amplitude(right, test::kRightToneHz, test::kToneRateHz), test::kRightAmplitude, 0.05);
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
    const test::OggPages partial = test::ogg_pages(bytes);
    EXPECT_EQ(partial.sync_errors, 0);
    ASSERT_FALSE(partial.pages.empty());
    EXPECT_FALSE(partial.pages.back().eos);
    // Everything but the last 200 ms of what was written is already out as whole pages.
    EXPECT_GE(partial.pages.back().granule, static_cast<std::int64_t>(first_second) - kMaxPageGapSamples);
    EXPECT_EQ(partial.pages.back().end_offset, bytes.size()) << "every callback is whole pages";
  }
  sink.write(tone.data() + 2 * first_second, kToneFrames - first_second);
  sink.finish();
  const test::DecodedOggOpus ogg = test::decode_ogg_opus(bytes);
  EXPECT_EQ(ogg.audio.frames(), static_cast<std::int64_t>(kToneFrames));
  const std::vector<float> ref = test::channel(tone, 2, 0);
  EXPECT_GT(test::snr_db(ref, test::channel(ogg.audio.samples, 2, 0)), kMinSnrDb);
  EXPECT_TRUE(test::ogg_pages(bytes).pages.back().eos);
}

TEST(OggOpus, EmptyStreamIsValidAndHasZeroLength) {
  std::vector<std::uint8_t> bytes;
  OggOpusSink sink([&](std::span<const std::uint8_t> page) { bytes.insert(bytes.end(), page.begin(), page.end()); },
                   OpusEncoderOptions{}, 7);
  sink.finish();
  const test::OggPages walk = test::ogg_pages(bytes);
  ASSERT_EQ(walk.pages.size(), 3u);
  EXPECT_TRUE(walk.pages.back().eos);
  EXPECT_EQ(walk.pages.back().granule, sink.pre_skip());
  const test::DecodedOggOpus ogg = test::decode_ogg_opus(bytes);
  EXPECT_EQ(ogg.pcm_total, 0);
  EXPECT_EQ(ogg.audio.frames(), 0);
}

TEST(OggOpus, ByteCallbackErrorsComeBackOutOfWrite) {
  bool fail = false;
  OggOpusSink sink(
      [&](std::span<const std::uint8_t>) {
        if (fail) throw Error("disk full");
      },
      OpusEncoderOptions{}, 9);
  fail = true;
  const std::vector<float> tone = test::stereo_tone(kToneFrames);
  EXPECT_THROW(sink.write(tone.data(), kToneFrames), Error);
}

TEST(OggOpus, MonoFileDecodes) {
  test::ScratchDir dir;
  const auto path = dir.file("mono.ogg");
  const std::vector<float> left = test::channel(test::stereo_tone(kToneFrames), 2, 0);
  auto sink = open_audio_file(path, 48000, 1);
  test::push_in_chunks(left, 1, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();
  const test::DecodedOggOpus ogg = test::decode_ogg_opus(test::read_bytes(path));
  EXPECT_EQ(ogg.audio.channels, 1);
  ASSERT_EQ(ogg.audio.samples.size(), left.size());
  EXPECT_GT(test::snr_db(left, ogg.audio.samples), kMinSnrDb);
}

}  // namespace
}  // namespace hs
