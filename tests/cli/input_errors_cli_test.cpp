// Inputs the CLI must refuse with a message naming them, through the built binary: `generate
// --tags/--lyrics` values that look like a path but name no file (they used to become the text),
// a `--kv_cache` that is neither auto nor fp8, and tokenizer files that are a directory or a device
// that never ends.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

using test::RunResult;

class CliInputErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hs_cli_input_" + std::to_string(::getpid())));
    CpuBackend backend;
    write_demo_checkpoint(*dir_ / "demo", backend);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // `heartstream <args>` with a deadline, so a read that never ends fails instead of hanging.
  static RunResult run(const std::string& args) {
    return test::run_shell("timeout 60 '" + std::string(HEARTSTREAM_BIN) + "' " + args, *dir_ / "stderr",
                           *dir_ / "stdout");
  }
  static RunResult generate(const std::string& tags, const std::string& lyrics, const std::string& more = "") {
    return run("generate --model_path '" + (*dir_ / "demo").string() + "' --version " + std::string(kDemoVersion) +
               " --max_audio_length_ms 80 --seed 1 --tokens-out '" + (*dir_ / "frames.safetensors").string() +
               "' --tags '" + tags + "' --lyrics '" + lyrics + "' " + more);
  }

  static fs::path* dir_;
};

fs::path* CliInputErrors::dir_ = nullptr;

TEST_F(CliInputErrors, PathLikeTextThatNamesNoFileIsAnError) {
  const RunResult lyrics = generate("piano", "/no/such/file.txt");
  EXPECT_NE(lyrics.exit_code, 0);
  EXPECT_NE(lyrics.err.find("--lyrics '/no/such/file.txt'"), std::string::npos) << lyrics.err;
  EXPECT_NE(lyrics.err.find("no such file"), std::string::npos) << lyrics.err;
  const RunResult tags = generate("tags.txt", "la");
  EXPECT_NE(tags.exit_code, 0);
  EXPECT_NE(tags.err.find("--tags 'tags.txt'"), std::string::npos) << tags.err;
  // Text with line breaks is never a path, whatever it holds.
  const RunResult text = generate("piano", "[verse]\nAC/DC la la");
  EXPECT_EQ(text.exit_code, 0) << text.err;
}

TEST_F(CliInputErrors, KvCacheIsAutoOrFp8) {
  const RunResult fp8 = generate("piano", "la", "--kv_cache fp8");
  EXPECT_EQ(fp8.exit_code, 0) << fp8.err;
  const RunResult bad = generate("piano", "la", "--kv_cache bf16");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find(R"(--kv_cache: expected auto or fp8, got "bf16")"), std::string::npos) << bad.err;
}

// --vram_budget_gb plans device memory: on the CPU a budget is an error naming the option, 'off'
// (no plan, as without the option on the CPU) is not (the GPU run and its plan are measured on the
// device, docs/vram.md).
TEST_F(CliInputErrors, VramBudgetNeedsCuda) {
  for (const char* budget : {"6", "free"}) {
    const RunResult cpu = generate("piano", "la", std::string("--vram_budget_gb ") + budget);
    EXPECT_NE(cpu.exit_code, 0) << budget;
    EXPECT_NE(cpu.err.find("--vram_budget_gb plans device memory: it needs --device cuda"), std::string::npos) << cpu.err;
  }
  const RunResult off = generate("piano", "la", "--vram_budget_gb off");
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.err.find("device memory plan"), std::string::npos) << off.err;
}

TEST_F(CliInputErrors, TokenizerThatIsNotARegularFileIsNamed) {
  const RunResult folder = run("tokenize --tokenizer '" + dir_->string() + "' < /dev/null");
  EXPECT_NE(folder.exit_code, 0);
  EXPECT_NE(folder.err.find("tokenizer " + dir_->string() + ": "), std::string::npos) << folder.err;
  EXPECT_NE(folder.err.find("directory"), std::string::npos) << folder.err;
  const RunResult device = run("tokenize --tokenizer /dev/zero < /dev/null");
  EXPECT_NE(device.exit_code, 0);
  EXPECT_NE(device.err.find("tokenizer /dev/zero: "), std::string::npos) << device.err;
  EXPECT_NE(device.err.find("not a regular file"), std::string::npos) << device.err;
}

}  // namespace
}  // namespace hs
