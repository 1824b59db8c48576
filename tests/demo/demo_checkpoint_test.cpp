// make-demo-model's checkpoint, loaded by the project's own loaders: configs, tokenizer, LM,
// codec; a few generated frames decode to finite audio that is audible and within [-1, 1].
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/core/noise.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/config.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/lm/mula_weights.h"
#include "engine/pipeline/generator.h"
#include "engine/text/prompt.h"
#include "engine/text/tokenizer.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kFrames = 8;
constexpr double kMinAudibleRms = 1e-3;
constexpr std::uint64_t kOtherSeed = 99;
constexpr std::int64_t kReferenceDefaultAudioMs = 240000;  // run_music_generation.py's --max_audio_length_ms

using test::slurp;

class DemoCheckpoint : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hs_demo_" + std::to_string(::getpid())));
    paths_ = new CheckpointPaths(write_demo_checkpoint(*dir_ / "a", backend_));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete paths_;
    delete dir_;
  }
  static CpuBackend backend_;
  static fs::path* dir_;
  static CheckpointPaths* paths_;
};
CpuBackend DemoCheckpoint::backend_;
fs::path* DemoCheckpoint::dir_ = nullptr;
CheckpointPaths* DemoCheckpoint::paths_ = nullptr;

TEST_F(DemoCheckpoint, ResolvesInTheRealLayout) {
  const CheckpointPaths p = resolve_checkpoint(*dir_ / "a", std::string(kDemoVersion));
  EXPECT_EQ(p.mula_dir.filename(), "HeartMuLa-oss-demo");
  EXPECT_EQ(p.codec_dir.filename(), "HeartCodec-oss");
  EXPECT_TRUE(fs::is_regular_file(p.mula_dir / "model.safetensors"));
  EXPECT_TRUE(fs::is_regular_file(p.codec_dir / "model.safetensors"));
}

TEST_F(DemoCheckpoint, FilesHoldExactlyTheTensorsTheLoadersRead) {
  const MulaConfig mula = read_mula_config(paths_->mula_dir / "config.json");
  EXPECT_EQ(mula.backbone_flavor, "llama-demo");
  EXPECT_EQ(mula.decoder_flavor, "llama-demo-dec");
  EXPECT_EQ(mula.audio_vocab_size, 8197);
  const SafetensorsFile lm = SafetensorsFile::open(paths_->mula_dir / "model.safetensors");
  const auto lm_shapes = mula_tensor_shapes(mula);
  ASSERT_EQ(lm.tensors().size(), lm_shapes.size());
  for (const auto& [name, shape] : lm_shapes) {
    EXPECT_EQ(lm.info(name).shape, shape) << name;
    EXPECT_EQ(lm.info(name).dtype, DType::BF16) << name;
  }
  const CodecConfig codec = read_codec_config(paths_->codec_dir / "config.json");
  const SafetensorsFile cf = SafetensorsFile::open(paths_->codec_dir / "model.safetensors");
  const auto codec_shapes = codec_tensor_shapes(codec);
  ASSERT_EQ(cf.tensors().size(), codec_shapes.size());
  for (const auto& [name, shape] : codec_shapes) {
    EXPECT_EQ(cf.info(name).shape, shape) << name;
    EXPECT_EQ(cf.info(name).dtype, DType::F32) << name;
  }
}

TEST_F(DemoCheckpoint, TokenizerAndGenConfigAgree) {
  const Tokenizer tokenizer = Tokenizer::load(paths_->tokenizer);
  const GenConfig gen = read_gen_config(paths_->gen_config);
  const MulaConfig mula = read_mula_config(paths_->mula_dir / "config.json");
  EXPECT_EQ(static_cast<std::int64_t>(tokenizer.vocab_size()), mula.text_vocab_size);
  EXPECT_EQ(tokenizer.token_to_id("<|begin_of_text|>"), gen.text_bos_id);
  EXPECT_EQ(tokenizer.token_to_id("<|end_of_text|>"), gen.text_eos_id);
  EXPECT_LT(gen.audio_eos_id, mula.audio_vocab_size);
  const std::string text = "[Verse]\nthe morning light, 12 ways — ¿qué?";
  const auto ids = tokenizer.encode(text);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), gen.text_bos_id);
  EXPECT_LT(ids.size(), text.size());  // merges apply
  EXPECT_EQ(tokenizer.decode(ids, /*skip_special=*/true), text);
}

TEST_F(DemoCheckpoint, GeneratesAndDecodesAudibleAudioWithinRange) {
  const GenConfig gen = read_gen_config(paths_->gen_config);
  const Tokenizer tokenizer = Tokenizer::load(paths_->tokenizer);
  const auto lm = MulaModel::load(backend_, paths_->mula_dir);
  const CodecModel codec = CodecModel::load(backend_, paths_->codec_dir);
  GenerationRequest request{build_prompt(tokenizer, gen, "piano,happy", "[verse]\nla la la", 1.5f),
                            (kFrames - 1) * kFrameMs, {.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f}, 7};
  Generator generator(lm, gen, request);
  std::vector<Frame> frames;
  EXPECT_EQ(generator.run([&](const Frame& f) { frames.push_back(f); }), StopReason::Length);
  ASSERT_EQ(static_cast<std::int64_t>(frames.size()), kFrames);

  Tensor codes = Tensor::zeros({kNumCodebooks, kFrames}, DType::I32);
  for (std::int64_t t = 0; t < kFrames; ++t)
    for (std::int64_t k = 0; k < kNumCodebooks; ++k) {
      const std::int32_t id = frames[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)];
      ASSERT_GE(id, 0);
      ASSERT_LT(id, codec.config().codebook_size) << "frame " << t << " codebook " << k;
      codes.data<std::int32_t>()[k * kFrames + t] = id;
    }
  GaussianNoise noise(5);
  const Tensor latents = codec.flow().sample(codec.flow().condition(codes), Tensor(), noise);
  const Tensor audio = backend_.download(codec.decoder().decode(codec.decoder().split_channels(latents)));
  ASSERT_EQ(audio.numel(), 2 * kFrames * codec.samples_per_code_frame());
  double sum_sq = 0.0;
  for (std::int64_t i = 0; i < audio.numel(); ++i) {
    const float x = audio.data<float>()[i];
    ASSERT_TRUE(std::isfinite(x)) << i;
    ASSERT_LE(std::abs(x), 1.0f) << i;
    sum_sq += double{x} * x;
  }
  EXPECT_GT(std::sqrt(sum_sq / static_cast<double>(audio.numel())), kMinAudibleRms);
}

// The reference CLI's default --max_audio_length_ms (240 s: 3001 frames) fits the demo backbone.
TEST_F(DemoCheckpoint, BackboneHoldsTheReferenceDefaultSongLength) {
  const GenConfig gen = read_gen_config(paths_->gen_config);
  const Tokenizer tokenizer = Tokenizer::load(paths_->tokenizer);
  const auto lm = MulaModel::load(backend_, paths_->mula_dir);
  GenerationRequest request{build_prompt(tokenizer, gen, "piano,happy", "[verse]\nla la la", 1.5f),
                            kReferenceDefaultAudioMs, {.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f}, 7};
  const Generator generator(lm, gen, request);
  EXPECT_EQ(generator.max_frames(), 1 + kReferenceDefaultAudioMs / kFrameMs);
}

TEST_F(DemoCheckpoint, SameSeedSameFilesOtherSeedOtherWeights) {
  const CheckpointPaths again = write_demo_checkpoint(*dir_ / "b", backend_);
  const CheckpointPaths other = write_demo_checkpoint(*dir_ / "c", backend_, kOtherSeed);
  for (const char* file : {"model.safetensors", "config.json"}) {
    EXPECT_EQ(slurp(again.mula_dir / file), slurp(paths_->mula_dir / file)) << file;
    EXPECT_EQ(slurp(again.codec_dir / file), slurp(paths_->codec_dir / file)) << file;
  }
  EXPECT_EQ(slurp(again.tokenizer), slurp(paths_->tokenizer));
  EXPECT_NE(slurp(other.mula_dir / "model.safetensors"), slurp(paths_->mula_dir / "model.safetensors"));
  EXPECT_NE(slurp(other.codec_dir / "model.safetensors"), slurp(paths_->codec_dir / "model.safetensors"));
}

}  // namespace
}  // namespace hs
