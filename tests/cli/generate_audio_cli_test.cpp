// `heartstream generate --save_path` end to end on make-demo-model's checkpoint, through the built
// binary: every format, offline and --stream, holds frames × 80 ms of audible audio; the same seed
// gives the same audio; --stream reports its time to first audio; --device / --precision and
// --codec_device / --codec_precision name where the models run or fail clearly (--device cuda runs
// both models on a GPU when there is one, --codec_device cpu keeps the codec on the CPU).
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <gtest/gtest.h>

#include "engine/backends/backend_factory.h"
#include "engine/io/safetensors.h"
#include "tests/audio/audio_decoders.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr int kChannels = 2;
constexpr std::uint32_t kSampleRateHz = 48000;
constexpr std::int64_t kSamplesPerFrame = 3840;  // 80 ms at 48 kHz
constexpr std::int64_t kMaxAudioMs = 2000;       // 26 frames at most
constexpr double kMinAudibleRms = 1e-3;

using test::RunResult;
using test::slurp;

template <typename Sample>
double rms(const Sample* x, std::int64_t n, double scale) {
  double sum_sq = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum_sq += (x[i] / scale) * (x[i] / scale);
  return n > 0 ? std::sqrt(sum_sq / static_cast<double>(n)) : 0.0;
}

class GenerateAudioCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hs_generate_audio_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const std::string make = std::string("'") + HEARTSTREAM_BIN + "' make-demo-model '" + (*dir_ / "ckpt").string() +
                             "' > /dev/null 2> '" + (*dir_ / "make.err").string() + "'";
    ASSERT_EQ(std::system(make.c_str()), 0) << slurp(*dir_ / "make.err");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // `generate` on the demo model with `extra` options, writing `out` and the tokens next to it.
  static RunResult generate(const std::string& extra, const fs::path& out) {
    const fs::path err = *dir_ / "err";
    const std::string cmd = std::string("'") + HEARTSTREAM_BIN + "' generate --model_path '" +
                            (*dir_ / "ckpt").string() + "' --version demo --tags 'piano,happy' --lyrics " +
                            "'[verse] la la la' --max_audio_length_ms " + std::to_string(kMaxAudioMs) + " " + extra +
                            " --tokens-out '" + tokens_of(out).string() + "' --save_path '" + out.string() + "'";
    return test::run_shell(cmd, err);
  }
  static fs::path tokens_of(const fs::path& out) { return fs::path(out.string() + ".tokens.safetensors"); }
  // Frames generated for `out`, from its token file.
  static std::int64_t frames_of(const fs::path& out) {
    return SafetensorsFile::open(tokens_of(out)).get("frames").dim(1);
  }

  static fs::path* dir_;
};

fs::path* GenerateAudioCli::dir_ = nullptr;

class GenerateAudioFormats : public GenerateAudioCli,
                             public ::testing::WithParamInterface<std::tuple<std::string, bool>> {};

TEST_P(GenerateAudioFormats, FileHoldsEveryFrameAsAudibleAudio) {
  const auto& [ext, stream] = GetParam();
  const fs::path out = *dir_ / ("song_" + std::string(stream ? "stream" : "offline") + ext);
  const RunResult r = generate(std::string("--seed 7") + (stream ? " --stream" : ""), out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::int64_t frames = frames_of(out);
  ASSERT_GT(frames, 0);
  const std::int64_t samples = frames * kSamplesPerFrame;
  // Decoded by libsndfile (WAV, FLAC), libopusfile (pre-skip and end trimmed) and mpg123 (gapless):
  // each holds exactly the song's samples.
  std::optional<test::DecodedAudio> audio;
  if (ext == ".wav" || ext == ".flac") audio = test::decode_sndfile(out).audio;
  if (ext == ".opus") audio = test::decode_ogg_opus(slurp(out)).audio;
  if (ext == ".mp3") audio = test::decode_mp3(out).audio;
  if (audio) {
    EXPECT_EQ(audio->channels, kChannels);
    EXPECT_EQ(audio->sample_rate_hz, static_cast<int>(kSampleRateHz));
    EXPECT_EQ(audio->frames(), samples);
    EXPECT_GT(rms(audio->samples.data(), static_cast<std::int64_t>(audio->samples.size()), 1.0), kMinAudibleRms);
  } else {
    const Tensor wav = SafetensorsFile::open(out).get("wav").to_f32();
    ASSERT_EQ(wav.shape(), (Shape{kChannels, samples}));
    EXPECT_GT(rms(wav.data<float>(), wav.numel(), 1.0), kMinAudibleRms);
  }
}

INSTANTIATE_TEST_SUITE_P(OfflineAndStream, GenerateAudioFormats,
                         ::testing::Combine(::testing::Values(".wav", ".flac", ".opus", ".mp3", ".safetensors"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param).substr(1) +
                                  (std::get<1>(info.param) ? "_stream" : "_offline");
                         });

TEST_F(GenerateAudioCli, SameSeedSameAudioOtherSeedOtherAudio) {
  for (const char* mode : {"", " --stream"}) {
    const fs::path a = *dir_ / "a.safetensors", b = *dir_ / "b.safetensors", c = *dir_ / "c.safetensors";
    ASSERT_EQ(generate(std::string("--seed 11") + mode, a).exit_code, 0) << mode;
    ASSERT_EQ(generate(std::string("--seed 11") + mode, b).exit_code, 0) << mode;
    ASSERT_EQ(generate(std::string("--seed 12") + mode, c).exit_code, 0) << mode;
    const Tensor wa = SafetensorsFile::open(a).get("wav").to_f32();
    const Tensor wb = SafetensorsFile::open(b).get("wav").to_f32();
    const Tensor wc = SafetensorsFile::open(c).get("wav").to_f32();
    ASSERT_EQ(wa.shape(), wb.shape()) << mode;
    EXPECT_EQ(std::memcmp(wa.data<float>(), wb.data<float>(), wa.bytes()), 0) << mode;
    EXPECT_FALSE(wa.shape() == wc.shape() && std::memcmp(wa.data<float>(), wc.data<float>(), wa.bytes()) == 0) << mode;
  }
}

// --chunk_frames sets --stream's chunk length: 16 is the default (the same audio), 8 puts chunk
// boundaries elsewhere (other audio of the same length); out of 1..372 it is refused by name.
TEST_F(GenerateAudioCli, ChunkFramesSetsTheStreamingChunk) {
  const fs::path plain = *dir_ / "chunk_default.safetensors", c16 = *dir_ / "chunk_16.safetensors",
                 c8 = *dir_ / "chunk_8.safetensors";
  ASSERT_EQ(generate("--seed 5 --stream", plain).exit_code, 0);
  ASSERT_EQ(generate("--seed 5 --stream --chunk_frames 16", c16).exit_code, 0);
  ASSERT_EQ(generate("--seed 5 --stream --chunk_frames 8", c8).exit_code, 0);
  const Tensor w = SafetensorsFile::open(plain).get("wav").to_f32();
  const Tensor w16 = SafetensorsFile::open(c16).get("wav").to_f32();
  const Tensor w8 = SafetensorsFile::open(c8).get("wav").to_f32();
  ASSERT_GT(frames_of(plain), 16) << "the song must be longer than one chunk";
  ASSERT_EQ(w.shape(), w16.shape());
  ASSERT_EQ(w.shape(), w8.shape());
  EXPECT_EQ(std::memcmp(w.data<float>(), w16.data<float>(), w.bytes()), 0);
  EXPECT_NE(std::memcmp(w.data<float>(), w8.data<float>(), w.bytes()), 0);
  for (const char* bad : {"0", "373"}) {
    const RunResult r = generate(std::string("--seed 5 --stream --chunk_frames ") + bad, *dir_ / "bad.safetensors");
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--chunk_frames"), std::string::npos) << r.err;
  }
}

TEST_F(GenerateAudioCli, StreamReportsTimeToFirstAudioAndRealTimeFactor) {
  const RunResult r = generate("--seed 3 --stream", *dir_ / "ttfa.opus");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto at = r.err.find("time to first audio: ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_GE(std::atof(r.err.c_str() + at + std::strlen("time to first audio: ")), 0.0) << r.err;
  EXPECT_NE(r.err.find(" ms\n", at), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("real-time factor"), std::string::npos) << r.err;
}

TEST_F(GenerateAudioCli, UnknownExtensionFailsBeforeGenerating) {
  const fs::path bad = *dir_ / "song.aiff";
  const RunResult r = generate("--seed 1", bad);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(".aiff"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tokens_of(bad)));
}

// --device / --precision / --codec_device / --codec_precision: the run names where each model
// computes; bad names list the allowed values and bf16 / fp8 on the CPU are refused under the option
// that asked for them, before anything is written.
TEST_F(GenerateAudioCli, DevicesAndPrecisionsAreNamedOrRefusedClearly) {
  const RunResult ok = generate("--seed 1 --device cpu --precision fp32", *dir_ / "cpu.wav");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("language model on cpu (fp32), codec on cpu (fp32)\n"), std::string::npos) << ok.err;
  const RunResult codec_ok = generate("--seed 1 --codec_device cpu --codec_precision fp32", *dir_ / "codec_cpu.wav");
  ASSERT_EQ(codec_ok.exit_code, 0) << codec_ok.err;
  EXPECT_NE(codec_ok.err.find("language model on cpu (fp32), codec on cpu (fp32)\n"), std::string::npos) << codec_ok.err;
  const std::pair<std::string, std::string> refused[] = {
      {"--device gpu", "heartstream: --device 'gpu' is not one of cpu, cuda, cuda:N\n"},
      {"--device cuda:01", "heartstream: --device 'cuda:01': expected cuda:N with N a CUDA device number (0, 1, ...)\n"},
      {"--precision f16", "heartstream: --precision 'f16' is not one of fp32, bf16, fp8, nf4, int4\n"},
      {"--precision bf16", "heartstream: --precision bf16: the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need --device cuda\n"},
      {"--device cpu --precision fp8", "heartstream: --precision fp8: the CPU backend computes in fp32"},
      {"--codec_device gpu", "heartstream: --codec_device 'gpu' is not one of cpu, cuda, cuda:N\n"},
      {"--codec_precision f16", "heartstream: --codec_precision 'f16' is not one of fp32, bf16, fp8, nf4, int4\n"},
      {"--device cpu --codec_precision bf16",
       "heartstream: --codec_precision bf16: the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need --device cuda\n"},
      {"--codec_device cpu --codec_precision fp8",
       "heartstream: --codec_precision fp8: the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need --codec_device cuda\n"},
  };
  for (const auto& [flags, message] : refused) {
    const fs::path out = *dir_ / "refused.wav";
    const RunResult r = generate("--seed 1 " + flags, out);
    EXPECT_EQ(r.exit_code, 1) << flags;
    EXPECT_NE(r.err.find(message), std::string::npos) << flags << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << flags;
    EXPECT_FALSE(fs::exists(tokens_of(out))) << flags;
  }
}

// --device cuda runs both models on the GPU (fp8 here), offline and --stream; --codec_device cpu
// keeps the codec on the CPU (fp32). A build without the CUDA backend, or a machine without a
// device, gets a clear error instead, under the option that asked for cuda.
TEST_F(GenerateAudioCli, CudaRunsBothModelsOrIsAClearError) {
  const std::pair<std::string, std::string> runs[] = {
      {"--device cuda --precision fp8", "language model on cuda (fp8), codec on cuda (fp8)\n"},
      {"--device cuda --precision fp8 --stream", "language model on cuda (fp8), codec on cuda (fp8)\n"},
      {"--device cuda --precision fp8 --codec_device cpu", "language model on cuda (fp8), codec on cpu (fp32)\n"},
      {"--codec_device cuda", "language model on cpu (fp32), codec on cuda (fp8)\n"},
  };
  for (const auto& [flags, said] : runs) {
    const fs::path out = *dir_ / "cuda.wav";
    fs::remove(out);
    fs::remove(tokens_of(out));
    const RunResult r = generate("--seed 1 " + flags, out);
    if (cuda_device_available()) {
      ASSERT_EQ(r.exit_code, 0) << flags << ": " << r.err;
      EXPECT_NE(r.err.find(said), std::string::npos) << flags << ": " << r.err;
      EXPECT_EQ(test::decode_sndfile(out).audio.frames(), frames_of(out) * kSamplesPerFrame) << flags;
      continue;
    }
    const std::string option = flags.rfind("--device", 0) == 0 ? "--device" : "--codec_device";
    EXPECT_EQ(r.exit_code, 1) << flags;
    const std::string why = option + " cuda: " +
                            (cuda_backend_built() ? "no CUDA device found"
                                                  : "this build has no CUDA backend (configure with "
                                                    "-DHEARTSTREAM_CUDA=ON and the CUDA toolkit)\n");
    EXPECT_NE(r.err.find("heartstream: " + why), std::string::npos) << flags << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << flags;
    EXPECT_FALSE(fs::exists(tokens_of(out))) << flags;
  }
}

}  // namespace
}  // namespace hs
