// `heartstream generate` on the golden checkpoint: greedy (--topk 1) with the MANIFEST tags and
// lyrics reproduces the golden frames for cfg 1.5 and 1.0, and its --save_path audio equals
// `heartstream decode` of those frames with the same seed. The golden folder is not laid out like
// a release checkpoint, so the test builds one from symlinks.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "tests/lm/golden_case.h"
#include "tests/support/cli_run.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

using test::run_process;

// A release-style checkpoint folder pointing at the golden files.
class GoldenCheckpoint {
 public:
  explicit GoldenCheckpoint(const fs::path& shared)
      : dir_(fs::temp_directory_path() / ("hs_generate_cli_" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::create_directory_symlink(shared / "golden/mula-tiny", dir_ / "HeartMuLa-oss-tiny");
    fs::create_symlink(shared / "golden/gen_config.json", dir_ / "gen_config.json");
    fs::create_symlink(shared / "tokenizer/llama3-tokenizer.json", dir_ / "tokenizer.json");
  }
  ~GoldenCheckpoint() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

TEST(GenerateCli, GreedyReproducesGoldenFrames) {
  HS_REQUIRE_SHARED(shared_model, "golden/mula-tiny");
  HS_REQUIRE_SHARED(tokenizer, "tokenizer/llama3-tokenizer.json");
  const fs::path shared = shared_model.parent_path().parent_path();
  const GoldenCheckpoint ckpt(shared);
  for (const auto& c : test::lm_cases()) {
    const test::LmGolden golden = test::load_lm_golden(shared / "golden" / (c.name + ".safetensors"));
    // Lyrics through a file (the option accepts text or a path), tags as text.
    const fs::path lyrics_file = ckpt.dir() / (c.name + "_lyrics.txt");
    std::ofstream(lyrics_file, std::ios::binary) << c.lyrics;
    const fs::path out = ckpt.dir() / (c.name + "_frames.safetensors");
    std::ostringstream cfg, max_ms;
    cfg << c.cfg_scale;
    max_ms << (c.frames - 1) * 80;  // frames = 1 + max_audio_length_ms / 80
    const int rc = run_process({HEARTSTREAM_CLI, "generate", "--model_path", ckpt.dir().string(), "--version", "tiny",
                                "--tags", c.tags, "--lyrics", lyrics_file.string(), "--max_audio_length_ms",
                                max_ms.str(), "--topk", "1", "--cfg_scale", cfg.str(), "--seed", "1",
                                "--tokens-out", out.string()});
    ASSERT_EQ(rc, 0) << c.name;
    const SafetensorsFile f = SafetensorsFile::open(out);
    const Tensor frames = f.get("frames");
    ASSERT_EQ(frames.dtype(), DType::I32);
    ASSERT_EQ(frames.shape(), golden.frames.shape()) << c.name;
    for (std::int64_t i = 0; i < frames.numel(); ++i)
      ASSERT_EQ(frames.data<std::int32_t>()[i], golden.frames.data<std::int32_t>()[i]) << c.name << " element " << i;
    EXPECT_EQ(f.metadata().at("stop_reason"), "length");
  }
}

// The two commands share the offline decode and the seed → codec noise mapping, so generating audio
// directly equals generating tokens and decoding them. The golden LM emits codes 64..68, which the
// 64-code golden codec cannot decode, so the audio comes from the demo codec (8192 codes).
TEST(GenerateCli, SavedAudioEqualsDecodeOfTheGoldenFramesWithTheSameSeed) {
  HS_REQUIRE_SHARED(shared_model, "golden/mula-tiny");
  HS_REQUIRE_SHARED(tokenizer, "tokenizer/llama3-tokenizer.json");
  const fs::path shared = shared_model.parent_path().parent_path();
  const GoldenCheckpoint ckpt(shared);
  ASSERT_EQ(run_process({HEARTSTREAM_CLI, "make-demo-model", (ckpt.dir() / "demo").string()}), 0);
  fs::create_directory_symlink(ckpt.dir() / "demo/HeartCodec-oss", ckpt.dir() / "HeartCodec-oss");
  const test::LmCaseInfo& c = test::lm_cases().front();
  const test::LmGolden golden = test::load_lm_golden(shared / "golden" / (c.name + ".safetensors"));
  const fs::path tokens = ckpt.dir() / "tokens.safetensors", generated = ckpt.dir() / "generated.safetensors",
                 decoded = ckpt.dir() / "decoded.safetensors";
  std::ostringstream cfg, max_ms;
  cfg << c.cfg_scale;
  max_ms << (c.frames - 1) * 80;
  ASSERT_EQ(run_process({HEARTSTREAM_CLI, "generate", "--model_path", ckpt.dir().string(), "--version", "tiny", "--tags",
                         c.tags, "--lyrics", c.lyrics, "--max_audio_length_ms", max_ms.str(), "--topk", "1",
                         "--cfg_scale", cfg.str(), "--seed", "5", "--tokens-out", tokens.string(), "--save_path",
                         generated.string()}),
            0);
  const Tensor frames = SafetensorsFile::open(tokens).get("frames");
  ASSERT_EQ(frames.shape(), golden.frames.shape());
  EXPECT_EQ(std::memcmp(frames.data<std::int32_t>(), golden.frames.data<std::int32_t>(), frames.bytes()), 0);
  ASSERT_EQ(run_process({HEARTSTREAM_CLI, "decode", "--model_path", ckpt.dir().string(), "--version", "tiny",
                         "--tokens", tokens.string(), "--seed", "5", "--save_path", decoded.string()}),
            0);
  const Tensor a = SafetensorsFile::open(generated).get("wav").to_f32();
  const Tensor b = SafetensorsFile::open(decoded).get("wav").to_f32();
  ASSERT_EQ(a.shape(), (Shape{2, frames.dim(1) * 3840}));
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.data<float>(), b.data<float>(), a.bytes()), 0);
}

// The golden codec's 64 codes cannot hold the golden LM's greedy codes 64..68 (see the test above):
// with the codec there, generate never samples ids from its codebook size up to the EOS id, so the
// song is made and decoded (the reference samples them and its codec fails).
TEST(GenerateCli, IdsTheCodecCannotDecodeAreNeverSampled) {
  HS_REQUIRE_SHARED(shared_model, "golden/mula-tiny");
  HS_REQUIRE_SHARED(codec, "golden/codec-tiny");
  HS_REQUIRE_SHARED(tokenizer, "tokenizer/llama3-tokenizer.json");
  const fs::path shared = shared_model.parent_path().parent_path();
  const GoldenCheckpoint ckpt(shared);
  fs::create_directory_symlink(codec, ckpt.dir() / "HeartCodec-oss");
  const test::LmCaseInfo& c = test::lm_cases().front();
  const test::LmGolden golden = test::load_lm_golden(shared / "golden" / (c.name + ".safetensors"));
  constexpr std::int32_t kCodebook = 64;  // golden/codec-tiny/config.json
  const auto past_codebook = [&](const Tensor& frames) {
    const std::int32_t* v = frames.data<std::int32_t>();
    return std::count_if(v, v + frames.numel(), [&](std::int32_t t) { return t >= kCodebook; });
  };
  ASSERT_GT(past_codebook(golden.frames), 0) << "the golden greedy frames hold ids past the codebook";
  const fs::path tokens = ckpt.dir() / "tokens.safetensors", out = ckpt.dir() / "x.safetensors";
  ASSERT_EQ(run_process({HEARTSTREAM_CLI, "generate", "--model_path", ckpt.dir().string(), "--version", "tiny", "--tags",
                         c.tags, "--lyrics", c.lyrics, "--max_audio_length_ms", std::to_string((c.frames - 1) * 80),
                         "--topk", "1", "--cfg_scale", std::to_string(c.cfg_scale), "--seed", "5", "--tokens-out",
                         tokens.string(), "--save_path", out.string()}),
            0);
  const Tensor frames = SafetensorsFile::open(tokens).get("frames");
  EXPECT_EQ(past_codebook(frames), 0);
  EXPECT_EQ(SafetensorsFile::open(out).get("wav").dim(1), frames.dim(1) * 3840);
}

}  // namespace
}  // namespace hs
