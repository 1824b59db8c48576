// Local playback and the streaming CLI end to end, through the built binaries, on the demo model
// and ALSA's null device (no sound hardware): `heartstreamd --play` plays one song and exits 0;
// `heartstream stream` against an in-process daemon writes a valid .opus and a .wav of the song's
// length; `heartstream play` plays; a request the daemon refuses exits non-zero with its message;
// a device or precision heartstreamd cannot run stops it at startup with the key's name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine/model/demo/demo_checkpoint.h"
#include "tests/audio/audio_decoders.h"
#include "tests/daemon/null_audio.h"
#include "tests/daemon/test_daemon.h"
#include "tests/support/cli_run.h"

namespace hs::test {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSamplesPerMs = 48;
constexpr std::int64_t kSongMs = 1000;
constexpr std::int64_t kSongAudioMs = 1040;  // the demo model runs to length: 1 + 1000/80 frames

class PlayCli : public ::testing::Test {
 protected:
  void SetUp() override {
    use_null_audio_device();
    dir_ = fs::temp_directory_path() / ("hs_play_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunResult run(const std::string& binary, const std::string& args) const {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    return run_shell("'" + binary + "' " + args, err, out);
  }
  std::string song_flags() const {
    return "--tags 'piano,happy' --lyrics '[verse] la la la' --max_audio_length_ms " + std::to_string(kSongMs) +
           " --seed 5";
  }
  std::string url(const TestDaemon& daemon) const { return "ws://127.0.0.1:" + std::to_string(daemon.port()); }

  fs::path dir_;
};

TEST_F(PlayCli, DaemonPlaysOneSongAndExits) {
  const RunResult r = run(HEARTSTREAMD_BIN, "--play --model_path '" + demo_checkpoint().string() + "' --version " +
                                                std::string(kDemoVersion) + " " + song_flags());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("playing on 0 \"default\" (ALSA)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time to first audio"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("played 1.04 s (length)"), std::string::npos) << r.out;
}

TEST_F(PlayCli, DaemonPlayNamesAMissingDevice) {
  const RunResult r = run(HEARTSTREAMD_BIN, "--play --model_path '" + demo_checkpoint().string() + "' --version " +
                                                std::string(kDemoVersion) + " --portaudio_device nope " + song_flags());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no output device named \"nope\"; output devices: 0 \"default\""), std::string::npos) << r.err;
}

// A device the daemon cannot run is refused at startup and by --check-config, naming its key
// (model.device, or model.codec_device / model.codec_precision for --codec_device / --codec_precision).
TEST_F(PlayCli, DaemonRefusesADeviceItCannotRunNamingTheKey) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  const std::string model = "--model_path '" + demo_checkpoint().string() + "' --version " + std::string(kDemoVersion);
  for (const std::string mode : {"--check-config", "--port 0"}) {
    const RunResult r = run(HEARTSTREAMD_BIN, mode + " " + model + " --device cuda --precision fp8");
    EXPECT_EQ(r.exit_code, 1) << mode;
    EXPECT_NE(r.err.find("heartstreamd: model.device cuda: "), std::string::npos) << mode << ": " << r.err;
  }
  const RunResult r = run(HEARTSTREAMD_BIN, "--check-config " + model + " --precision bf16");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("heartstreamd: model.precision bf16: the CPU backend computes in fp32"), std::string::npos) << r.err;
  const RunResult codec_device = run(HEARTSTREAMD_BIN, "--check-config " + model + " --codec_device cuda");
  EXPECT_EQ(codec_device.exit_code, 1);
  EXPECT_NE(codec_device.err.find("heartstreamd: model.codec_device cuda: "), std::string::npos) << codec_device.err;
  const RunResult codec_precision = run(HEARTSTREAMD_BIN, "--check-config " + model + " --codec_precision fp8");
  EXPECT_EQ(codec_precision.exit_code, 1);
  EXPECT_NE(codec_precision.err.find("heartstreamd: model.codec_precision fp8: the CPU backend computes in fp32"),
            std::string::npos)
      << codec_precision.err;
}

TEST_F(PlayCli, StreamWritesAnOggOpusFile) {
  TestDaemon daemon;
  const fs::path song = dir_ / "song.opus";
  const RunResult r = run(HEARTSTREAM_BIN, "stream --url " + url(daemon) + " " + song_flags() + " --out '" + song.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("done: length, 1.04 s of audio"), std::string::npos) << r.out;
  // Decoded by libopusfile: pre-skip and end trimming leave exactly the song's audio.
  const DecodedOggOpus c = decode_ogg_opus(slurp(song));
  EXPECT_EQ(c.audio.channels, 2);
  EXPECT_EQ(c.input_rate_hz, 48000u);
  EXPECT_GT(c.pre_skip, 0);
  EXPECT_EQ(c.pcm_total, kSongAudioMs * kSamplesPerMs);
  EXPECT_EQ(c.audio.frames(), kSongAudioMs * kSamplesPerMs);
}

TEST_F(PlayCli, StreamWritesAWavOfTheSongsLength) {
  TestDaemon daemon;
  const fs::path song = dir_ / "song.wav";
  const RunResult r = run(HEARTSTREAM_BIN, "stream --url " + url(daemon) + " " + song_flags() + " --out '" + song.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const DecodedSndfile wav = decode_sndfile(song);
  EXPECT_EQ(wav.audio.channels, 2);
  EXPECT_EQ(wav.audio.sample_rate_hz, 48000);
  EXPECT_EQ(wav.audio.frames(), kSongAudioMs * kSamplesPerMs);
}

TEST_F(PlayCli, PlayStreamsToTheSpeakers) {
  TestDaemon daemon;
  const RunResult r = run(HEARTSTREAM_BIN, "play --url " + url(daemon) + " " + song_flags());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("done: length, 1.04 s of audio"), std::string::npos) << r.out;
}

TEST_F(PlayCli, ARefusedRequestExitsWithTheDaemonsMessage) {
  TestDaemon daemon;
  const RunResult r = run(HEARTSTREAM_BIN, "stream --url " + url(daemon) + " " + song_flags() + " --topk 0 --out '" +
                                               (dir_ / "song.opus").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("out_of_range: 'topk' must be in 1..1048576"), std::string::npos) << r.err;
}

TEST_F(PlayCli, AnUnreachableDaemonIsNamed) {
  const RunResult r = run(HEARTSTREAM_BIN, "play --url ws://127.0.0.1:1 " + song_flags());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot stream from ws://127.0.0.1:1/v1/stream"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hs::test
