// `heartstream benchmark` through the built binary on a demo checkpoint (CPU, fp32): the files the
// FP8 guide's benchmark writes, with its five keys in their units, the extras beside them, an mp3
// that decodes to the stated length; and clear errors for bad arguments, a GPU that is not there,
// and an unreadable checkpoint.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/backends/backend_factory.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "tests/audio/audio_decoders.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t kSongMs = 1600;
constexpr double kFrameSeconds = 0.08;
constexpr int kSampleRateHz = 48000;
constexpr int kChannels = 2;

class CliBenchmark : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("hs_cli_benchmark_" + std::to_string(::getpid())));
    CpuBackend backend;
    write_demo_checkpoint(*root_ / "ckpt", backend);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  void SetUp() override {
    out_ = *root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(out_);
  }

  test::RunResult benchmark(const std::string& args, const fs::path& ckpt = *root_ / "ckpt") const {
    const std::string cmd = std::string("'") + HEARTSTREAM_BIN + "' benchmark --model_path '" + ckpt.string() +
                            "' --version " + std::string(kDemoVersion) + " --out '" + (out_ / "run").string() +
                            "' " + args;
    return test::run_shell(cmd, out_ / "err.txt", out_ / "out.txt");
  }
  json::object read(const std::string& name) const {
    return json::parse(test::slurp(out_ / "run" / name)).as_object();
  }

  static inline fs::path* root_ = nullptr;
  fs::path out_;
};

TEST_F(CliBenchmark, WritesTheGuidesFilesWithItsKeysAndAnMp3OfTheStatedLength) {
  // On the CPU, "all" is fp32 alone: one song, the files without a precision suffix.
  const test::RunResult r =
      benchmark("--device cpu --precision all --max_audio_length_ms " + std::to_string(kSongMs));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object results = read("benchmark_results.json");
  for (const char* key : {"generation_time_seconds", "audio_length_seconds", "rtf", "memory_allocated_gb",
                          "memory_reserved_gb", "ms_per_frame", "time_to_first_audio_seconds"})
    ASSERT_TRUE(results.contains(key) && results.at(key).is_number()) << key;
  const double wall_s = results.at("generation_time_seconds").to_number<double>();
  const double audio_s = results.at("audio_length_seconds").to_number<double>();
  const std::int64_t frames = results.at("frames").as_int64();
  EXPECT_GT(frames, 0);
  EXPECT_NEAR(audio_s, static_cast<double>(frames) * kFrameSeconds, 1e-9);
  EXPECT_NEAR(results.at("rtf").to_number<double>(), wall_s / audio_s, 1e-9);
  EXPECT_NEAR(results.at("ms_per_frame").to_number<double>(), 1000.0 * wall_s / static_cast<double>(frames), 1e-6);
  EXPECT_LT(results.at("time_to_first_audio_seconds").to_number<double>(), wall_s);
  EXPECT_GT(results.at("memory_allocated_gb").to_number<double>(), 0.0);
  EXPECT_TRUE(results.at("memory_unit").as_string().starts_with("GiB"));
  EXPECT_NE(results.at("memory_measure").as_string().find("peak resident set size"), std::string::npos);
  EXPECT_TRUE(results.at("peak_device_memory_gb").is_null());
  EXPECT_EQ(results.at("precision").as_string(), "fp32");
  EXPECT_EQ(results.at("device").as_string(), "cpu");
  EXPECT_FALSE(results.at("device_name").as_string().empty());
  EXPECT_GT(results.at("prompt_tokens").as_int64(), 0);
  EXPECT_TRUE(results.contains("commit"));

  const test::DecodedMp3 mp3 = test::decode_mp3(out_ / "run" / "benchmark_output.mp3");
  EXPECT_EQ(mp3.audio.sample_rate_hz, kSampleRateHz);
  EXPECT_EQ(mp3.audio.channels, kChannels);
  EXPECT_EQ(mp3.audio.frames(), std::llround(audio_s * kSampleRateHz));

  const json::object quantization = read("quantization_config.json");
  EXPECT_EQ(quantization.at("precision").as_string(), "fp32");
  EXPECT_TRUE(quantization.at("scheme").is_null());
}

TEST_F(CliBenchmark, BadArgumentsAndMissingDevicesFailNamingWhatWasWrong) {
  const auto fails_with = [&](const std::string& args, const std::string& message) {
    const test::RunResult r = benchmark(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
  };
  fails_with("--device cpu --precision fp16", "--precision 'fp16'");
  fails_with("--device cpu --precision fp8", "--precision fp8");
  fails_with("--device tpu", "--device 'tpu'");
  fails_with("--device cpu --max_audio_length_ms 0", "--max_audio_length_ms");
  if (!cuda_backend_built()) fails_with("--device cuda --precision fp8", "no CUDA backend");
  else if (!cuda_device_available()) fails_with("--device cuda --precision fp8", "no CUDA device");
  const fs::path broken = out_ / "broken";
  fs::create_directories(broken);
  const test::RunResult r = benchmark("--device cpu --precision fp32", broken);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HeartMuLa-oss-demo"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hs
