#include "daemon/audio/opus_stream_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "engine/core/error.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

using Packets = std::vector<std::vector<std::uint8_t>>;

OpusStreamEncoder::PacketCallback collect(Packets& packets) {
  return [&packets](std::span<const std::uint8_t> p) { packets.emplace_back(p.begin(), p.end()); };
}

// 20 ms at 48 kHz, written out here rather than taken from the code under test.
constexpr std::int64_t kPacketFrames = 960;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

TEST(OpusStreamEncoder, PacketCountIsIndependentOfChunking) {
  for (std::size_t frames : {0, 1, 959, 960, 961, 1920, 47'999, 48'000, 62'400}) {
    const std::vector<float> tone = test::stereo_tone(frames);
    Packets whole, chunked;
    OpusStreamEncoder a(collect(whole));
    OpusStreamEncoder b(collect(chunked));
    a.push(tone.data(), frames);
    test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { b.push(p, n); });
    // Before finish: exactly the complete 20 ms frames, no more, no less.
    const auto n = static_cast<std::int64_t>(frames);
    EXPECT_EQ(static_cast<std::int64_t>(whole.size()), n / kPacketFrames) << frames;
    EXPECT_EQ(static_cast<std::int64_t>(chunked.size()), n / kPacketFrames) << frames;
    a.finish();
    b.finish();
    // After finish: enough packets that the decoder's output covers pre-skip + input.
    const std::int64_t expected =
        std::max<std::int64_t>(1, ceil_div(n + a.pre_skip(), kPacketFrames));
    EXPECT_EQ(static_cast<std::int64_t>(whole.size()), expected) << frames;
    EXPECT_EQ(chunked, whole) << "chunking changed the encoded packets for " << frames << " frames";
    EXPECT_EQ(a.packets(), expected);
    EXPECT_EQ(a.input_frames(), n);
  }
}

TEST(OpusStreamEncoder, EmitsEachPacketAsSoonAsItsFrameIsComplete) {
  Packets packets;
  OpusStreamEncoder encoder(collect(packets));
  const std::vector<float> tone = test::stereo_tone(3 * kPacketFrames);
  encoder.push(tone.data(), 959);
  EXPECT_EQ(packets.size(), 0u);
  encoder.push(tone.data() + 2 * 959, 1);
  EXPECT_EQ(packets.size(), 1u);
  encoder.push(tone.data() + 2 * kPacketFrames, 2 * kPacketFrames);
  EXPECT_EQ(packets.size(), 3u);
}

TEST(OpusStreamEncoder, ClampsOutOfRangeInputAndSilencesNaN) {
  // Input three times too loud must encode exactly like the same input clipped to [-1, 1].
  std::vector<float> loud = test::stereo_tone(4800, 3.0);
  std::vector<float> clipped = loud;
  for (float& x : clipped) x = std::fmax(-1.0f, std::fmin(1.0f, x));
  loud[10] = std::numeric_limits<float>::quiet_NaN();
  clipped[10] = 0.0f;
  loud[11] = std::numeric_limits<float>::infinity();
  clipped[11] = 1.0f;
  Packets from_loud, from_clipped;
  OpusStreamEncoder a(collect(from_loud));
  OpusStreamEncoder b(collect(from_clipped));
  a.push(loud.data(), 4800);
  b.push(clipped.data(), 4800);
  a.finish();
  b.finish();
  EXPECT_TRUE(from_loud == from_clipped) << "clamping is not equivalent to clipping the input";
}

TEST(OpusStreamEncoder, RejectsBadOptionsAndUseAfterFinish) {
  Packets packets;
  EXPECT_THROW(OpusStreamEncoder(collect(packets), OpusEncoderOptions{.channels = 3}),
               InvalidArgument);
  EXPECT_THROW(OpusStreamEncoder(collect(packets), OpusEncoderOptions{.bitrate_bps = 0}),
               InvalidArgument);
  OpusStreamEncoder encoder(collect(packets));
  encoder.finish();
  const float sample[2] = {0, 0};
  EXPECT_THROW(encoder.push(sample, 1), InvalidArgument);
  EXPECT_THROW(encoder.finish(), InvalidArgument);
}

}  // namespace
}  // namespace hs
