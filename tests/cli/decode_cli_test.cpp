// `heartstream decode` end to end, through the built binary: the golden short case with replayed
// noise reproduces the reference audio; .wav/.opus/.mp3 outputs have the right duration and a
// plausible size; seeded noise is reproducible; wrong inputs fail with a message naming them;
// --device cuda decodes on the GPU (or fails clearly without one), bf16 / fp8 need it.
// Also make-demo-model through the binary, decoded on its own checkpoint.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <sndfile.h>

#include "engine/backends/backend_factory.h"
#include "engine/io/safetensors.h"
#include "tests/audio/audio_decoders.h"
#include "tests/support/cli_run.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kShortFrames = 40 * 3840;  // codec_short: 40 code frames at 48 kHz
constexpr int kChannels = 2;
constexpr double kEndToEndL2 = 2e-3;              // golden/README.md, audio decoded from codes
constexpr double kPcm16Scale = 32767.0;           // full scale of a 16-bit WAV sample
constexpr double kOpusBitsPerSecond = 128000.0;   // daemon/audio/audio_file.h
constexpr double kMp3BitsPerSecond = 192000.0;

using test::RunResult;
using test::slurp;

double relative_l2(const float* a, const float* b, std::int64_t n) {
  double num = 0.0, den = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    num += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
    den += double{b[i]} * b[i];
  }
  return std::sqrt(num / den);
}

class CliDecode : public ::testing::Test {
 protected:
  void SetUp() override {
    HS_REQUIRE_SHARED(codec, "golden/codec-tiny");
    HS_REQUIRE_SHARED(mula, "golden/mula-tiny");
    HS_REQUIRE_SHARED(gen, "golden/gen_config.json");
    HS_REQUIRE_SHARED(tokenizer, "tokenizer/llama3-tokenizer.json");
    HS_REQUIRE_SHARED(short_case, "golden/codec_short.safetensors");
    HS_REQUIRE_SHARED(estimator_case, "golden/codec_estimator.safetensors");
    short_case_ = short_case;
    estimator_case_ = estimator_case;
    dir_ = fs::temp_directory_path() / ("hs_cli_decode_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ckpt_ = dir_ / "ckpt";
    fs::create_directories(ckpt_);
    fs::create_directory_symlink(codec, ckpt_ / "HeartCodec-oss");
    fs::create_directory_symlink(mula, ckpt_ / "HeartMuLa-oss-tiny");
    fs::create_symlink(gen, ckpt_ / "gen_config.json");
    fs::create_symlink(tokenizer, ckpt_ / "tokenizer.json");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  RunResult decode(const fs::path& tokens, const std::string& extra, const fs::path& out) const {
    const fs::path err = dir_ / "err";
    const std::string cmd = std::string("'") + HEARTSTREAM_BIN + "' decode --model_path '" + ckpt_.string() +
                            "' --version tiny --tokens '" + tokens.string() + "' " + extra + " --save_path '" +
                            out.string() + "'";
    return test::run_shell(cmd, err);
  }
  RunResult decode_short(const fs::path& out) const {
    return decode(short_case_, "--noise '" + short_case_.string() + "'", out);
  }
  // The golden audio [2, kShortFrames].
  Tensor golden_wav() const { return SafetensorsFile::open(short_case_).get("wav").to_f32(); }

  fs::path short_case_, estimator_case_, dir_, ckpt_;
};

TEST_F(CliDecode, ReplayedNoiseReproducesTheGoldenAudio) {
  const fs::path out = dir_ / "out.safetensors";
  const RunResult r = decode_short(out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Tensor wav = SafetensorsFile::open(out).get("wav").to_f32();
  const Tensor want = golden_wav();
  ASSERT_EQ(wav.shape(), want.shape());
  EXPECT_LE(relative_l2(wav.data<float>(), want.data<float>(), want.numel()), kEndToEndL2);
}

TEST_F(CliDecode, WavHasTheFullLengthAndTheGoldenSamples) {
  const fs::path out = dir_ / "out.wav";
  const RunResult r = decode_short(out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const test::DecodedSndfile wav = test::decode_sndfile(out);  // libsndfile
  EXPECT_EQ(wav.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  EXPECT_EQ(wav.audio.channels, kChannels);
  EXPECT_EQ(wav.audio.sample_rate_hz, 48000);
  ASSERT_EQ(wav.audio.frames(), kShortFrames);
  // WAV clamps to [-1, 1] (the tiny codec's random weights peak far above) and rounds to 16 bits.
  // Clamping is 1-Lipschitz, so ‖wav − clamp(golden)‖ ≤ kEndToEndL2·‖golden‖ + √n · half a step.
  const Tensor want = golden_wav();
  const float* w = want.data<float>();
  double err_sq = 0.0, want_sq = 0.0;
  for (std::int64_t t = 0; t < kShortFrames; ++t)
    for (int c = 0; c < kChannels; ++c) {
      const double got = wav.audio.samples[static_cast<std::size_t>(t * kChannels + c)];
      const double ref = w[c * kShortFrames + t];
      err_sq += (got - std::clamp(ref, -1.0, 1.0)) * (got - std::clamp(ref, -1.0, 1.0));
      want_sq += ref * ref;
    }
  const auto n = static_cast<double>(want.numel());
  EXPECT_LE(std::sqrt(err_sq), kEndToEndL2 * std::sqrt(want_sq) + std::sqrt(n) * 0.5 / kPcm16Scale);
}

TEST_F(CliDecode, OpusAndMp3HaveThePlausibleDurationAndSize) {
  const double seconds = static_cast<double>(kShortFrames) / 48000.0;
  const fs::path opus = dir_ / "out.opus";
  const RunResult r = decode_short(opus);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = slurp(opus);
  const test::DecodedOggOpus contents = test::decode_ogg_opus(bytes);  // libopusfile
  EXPECT_EQ(contents.audio.channels, kChannels);
  EXPECT_EQ(contents.pcm_total, kShortFrames);
  EXPECT_EQ(contents.audio.frames(), kShortFrames);
  const double opus_expected = seconds * kOpusBitsPerSecond / 8.0;
  EXPECT_GT(static_cast<double>(bytes.size()), 0.5 * opus_expected);
  EXPECT_LT(static_cast<double>(bytes.size()), 1.5 * opus_expected);

  const fs::path mp3 = dir_ / "out.mp3";
  const RunResult m = decode_short(mp3);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const test::DecodedMp3 decoded_mp3 = test::decode_mp3(mp3);  // mpg123, gapless
  EXPECT_EQ(decoded_mp3.audio.channels, kChannels);
  EXPECT_EQ(decoded_mp3.audio.frames(), kShortFrames);
  const double mp3_expected = seconds * kMp3BitsPerSecond / 8.0;  // CBR
  const auto mp3_size = static_cast<double>(fs::file_size(mp3));
  EXPECT_GT(mp3_size, 0.9 * mp3_expected);
  EXPECT_LT(mp3_size, 1.2 * mp3_expected);
}

TEST_F(CliDecode, SeededNoiseIsReproducibleAndDiffersFromTheReplay) {
  const fs::path a = dir_ / "a.safetensors", b = dir_ / "b.safetensors";
  ASSERT_EQ(decode(short_case_, "--seed 11", a).exit_code, 0);
  ASSERT_EQ(decode(short_case_, "--seed 11", b).exit_code, 0);
  const Tensor wa = SafetensorsFile::open(a).get("wav").to_f32();
  const Tensor wb = SafetensorsFile::open(b).get("wav").to_f32();
  ASSERT_EQ(wa.shape(), wb.shape());
  EXPECT_EQ(std::memcmp(wa.data<float>(), wb.data<float>(), wa.bytes()), 0);
  const Tensor want = golden_wav();
  EXPECT_GT(relative_l2(wa.data<float>(), want.data<float>(), want.numel()), 0.1);
}

// fp32 on the GPU reproduces the golden audio within the CPU's bound (tests/gpu/codec_cuda_test.cpp
// holds the CUDA codec to it too); without a GPU or the CUDA backend it is the factory's clear
// error, before the checkpoint is read or anything is written.
TEST_F(CliDecode, CudaReproducesTheGoldenAudioOrIsAClearError) {
  const fs::path out = dir_ / "cuda.safetensors";
  const RunResult r = decode(short_case_, "--noise '" + short_case_.string() + "' --device cuda", out);
  if (cuda_device_available()) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Tensor wav = SafetensorsFile::open(out).get("wav").to_f32();
    const Tensor want = golden_wav();
    ASSERT_EQ(wav.shape(), want.shape());
    EXPECT_LE(relative_l2(wav.data<float>(), want.data<float>(), want.numel()), kEndToEndL2);
    return;
  }
  EXPECT_EQ(r.exit_code, 1);
  const std::string why = cuda_backend_built() ? "heartstream: --device cuda: no CUDA device found"
                                               : "heartstream: --device cuda: this build has no CUDA backend";
  EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliDecode, LowPrecisionOnTheCpuIsRefusedNamingPrecision) {
  for (const std::string precision : {"bf16", "fp8"}) {
    const RunResult r = decode(short_case_, "--seed 1 --precision " + precision, dir_ / "x.wav");
    EXPECT_EQ(r.exit_code, 1) << precision;
    EXPECT_NE(r.err.find("heartstream: --precision " + precision +
                         ": the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need --device cuda\n"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "x.wav")) << precision;
  }
}

TEST_F(CliDecode, TokensWithoutFramesOrCodesFailNamingThem) {
  const RunResult r = decode(estimator_case_, "--seed 1", dir_ / "x.wav");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("'frames' or 'codes'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x.wav"));
}

TEST_F(CliDecode, MissingCodecFolderFailsNamingIt) {
  fs::remove(ckpt_ / "HeartCodec-oss");
  const RunResult r = decode_short(dir_ / "x.wav");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("HeartCodec-oss"), std::string::npos) << r.err;
}

// make-demo-model through the binary, then a decode of hand-made codes on the demo checkpoint: the
// README's first commands, needing nothing from ../shared.
TEST(CliDemoModel, MakesACheckpointThatDecodesToAudibleUnclippedAudio) {
  const fs::path dir = fs::temp_directory_path() / ("hs_cli_demo_" + std::to_string(::getpid()));
  const fs::path out = dir / "make.out", err = dir / "make.err";
  fs::create_directories(dir);
  // Run with a PATH that has no `heartstream` (as after a fresh build): the suggested commands name
  // the binary by its path, so they run as printed.
  const std::string make = std::string("PATH=/usr/bin:/bin '") + HEARTSTREAM_BIN + "' make-demo-model '" +
                           (dir / "ckpt").string() + "' > '" + out.string() + "' 2> '" + err.string() + "'";
  ASSERT_EQ(std::system(make.c_str()), 0) << slurp(err);
  const std::string said = slurp(out);
  EXPECT_NE(said.find("noise-like"), std::string::npos) << said;
  EXPECT_NE(said.find("--model_path /path/to/ckpt --version 3B"), std::string::npos) << said;
  EXPECT_NE(said.find("  " + fs::canonical(HEARTSTREAM_BIN).string() + " generate --model_path "), std::string::npos)
      << said;

  constexpr std::int64_t kFrames = 10;
  std::vector<std::int32_t> codes(static_cast<std::size_t>(8 * kFrames));
  for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<std::int32_t>((i * 2654435761u) % 8192u);
  write_safetensors(dir / "tokens.safetensors", {{"frames", Tensor::from_i32({8, kFrames}, codes)}});
  const fs::path wav = dir / "demo.safetensors";
  const std::string decode = std::string("'") + HEARTSTREAM_BIN + "' decode --model_path '" + (dir / "ckpt").string() +
                             "' --version demo --tokens '" + (dir / "tokens.safetensors").string() +
                             "' --seed 3 --save_path '" + wav.string() + "' 2> '" + err.string() + "'";
  ASSERT_EQ(std::system(decode.c_str()), 0) << slurp(err);
  const Tensor audio = SafetensorsFile::open(wav).get("wav").to_f32();
  ASSERT_EQ(audio.shape(), (Shape{kChannels, kFrames * 3840}));
  double sum_sq = 0.0;
  float peak = 0.0f;
  for (std::int64_t i = 0; i < audio.numel(); ++i) {
    sum_sq += double{audio.data<float>()[i]} * audio.data<float>()[i];
    peak = std::max(peak, std::abs(audio.data<float>()[i]));
  }
  EXPECT_LE(peak, 1.0f);
  EXPECT_GT(std::sqrt(sum_sq / static_cast<double>(audio.numel())), 1e-3);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hs
