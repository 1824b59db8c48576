#include <gtest/gtest.h>
#include <lame/lame.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

constexpr int kMp3FrameSamples = 1152;                              // MPEG-1 Layer III
constexpr std::size_t kFrameBytes192k48k = 144 * 192'000 / 48'000;  // 576, no padding slot
constexpr int kDecoderDelaySamples = 529;  // mpglib synthesis delay (mpg123's GAPLESS_DELAY)
constexpr std::size_t kFeedBytes = 1000;
constexpr int kMaxAlignSamples = 4 * kMp3FrameSamples;
constexpr double kMinSnrDb = 20.0;

struct DecodedMp3 {
  std::vector<float> left, right;
  mp3data_struct header{};
  int enc_delay = -1;  // from the LAME Info tag; -1 when no tag was found
  int enc_padding = -1;
  int errors = 0;
};

// Decodes with LAME's hip decoder (mpglib), feeding the file in small pieces.
DecodedMp3 decode_mp3(std::vector<std::uint8_t> bytes) {
  DecodedMp3 out;
  std::unique_ptr<hip_global_flags, int (*)(hip_t)> hip(hip_decode_init(), hip_decode_exit);
  std::vector<short> pcm_l(2 * kMp3FrameSamples), pcm_r(2 * kMp3FrameSamples);
  for (std::size_t at = 0; at < bytes.size(); at += kFeedBytes) {
    std::size_t len = std::min(kFeedBytes, bytes.size() - at);
    unsigned char* data = bytes.data() + at;
    for (;;) {
      mp3data_struct header{};
      int delay = -1, padding = -1;
      const int n = hip_decode1_headersB(hip.get(), data, len, pcm_l.data(), pcm_r.data(), &header,
                                         &delay, &padding);
      len = 0;
      if (header.header_parsed) out.header = header;
      if (delay >= 0) out.enc_delay = delay, out.enc_padding = padding;
      if (n < 0) ++out.errors;
      if (n <= 0) break;
      for (int i = 0; i < n; ++i) {
        out.left.push_back(pcm_l[static_cast<std::size_t>(i)] / 32768.0f);
        out.right.push_back(pcm_r[static_cast<std::size_t>(i)] / 32768.0f);
      }
    }
  }
  return out;
}

// The lag (decoded index of input sample 0) that best lines `decoded` up with `ref`.
std::size_t best_lag(std::span<const float> ref, std::span<const float> decoded) {
  std::size_t best = 0;
  double best_snr = -1e9;
  for (std::size_t lag = 0; lag <= kMaxAlignSamples && lag < decoded.size(); ++lag) {
    const double snr = test::snr_db(ref, decoded.subspan(lag));
    if (snr > best_snr) best_snr = snr, best = lag;
  }
  return best;
}

TEST(Mp3File, DecodesBackWithTheInputsLengthAndTones) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.mp3");
  const std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  sink->finish();

  const std::vector<std::uint8_t> bytes = test::read_bytes(path);
  const DecodedMp3 mp3 = decode_mp3(bytes);
  EXPECT_EQ(mp3.errors, 0);
  EXPECT_EQ(mp3.header.samplerate, 48000);
  EXPECT_EQ(mp3.header.stereo, 2);
  // CBR 192 kb/s: every frame, the Info tag frame included, is exactly 576 bytes.
  EXPECT_EQ(bytes.size(),
            static_cast<std::size_t>(mp3.header.totalframes + 1) * kFrameBytes192k48k);
  // The Info tag (rewritten at finish) carries the true frame count and the encoder delay and
  // padding; together they must account for every decoded sample and the input length.
  ASSERT_GE(mp3.enc_delay, 0) << "no LAME Info tag";
  const auto decoded = static_cast<long>(mp3.left.size());
  EXPECT_EQ(mp3.header.totalframes * kMp3FrameSamples, decoded);
  EXPECT_EQ(decoded - mp3.enc_delay - mp3.enc_padding, static_cast<long>(test::kToneFrames));

  const std::vector<float> ref_l = test::channel(tone, 2, 0);
  const std::vector<float> ref_r = test::channel(tone, 2, 1);
  const std::size_t lag = best_lag(ref_l, mp3.left);
  ASSERT_LE(lag + test::kToneFrames, mp3.left.size());
  const std::span<const float> left =
      std::span<const float>(mp3.left).subspan(lag, test::kToneFrames);
  const std::span<const float> right =
      std::span<const float>(mp3.right).subspan(lag, test::kToneFrames);
  EXPECT_EQ(static_cast<int>(lag), mp3.enc_delay + kDecoderDelaySamples) << "gapless trim point";
  EXPECT_GT(test::snr_db(ref_l, left), kMinSnrDb) << "lag " << lag;
  EXPECT_GT(test::snr_db(ref_r, right), kMinSnrDb) << "lag " << lag;
  EXPECT_NEAR(test::tone_amplitude(left, test::kLeftToneHz, test::kToneRateHz),
              test::kLeftAmplitude, 0.05);
  EXPECT_LT(test::tone_amplitude(left, test::kRightToneHz, test::kToneRateHz), 0.01);
  EXPECT_NEAR(test::tone_amplitude(right, test::kRightToneHz, test::kToneRateHz),
              test::kRightAmplitude, 0.05);
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

}  // namespace
}  // namespace hs
