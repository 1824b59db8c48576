// make-demo-model --shapes 3B, in pieces (the checkpoint itself is ~14 GB and takes minutes): its
// configs are the released ones, its tensor lists hold the released parameter counts (derived here
// from REFERENCE.md's tables and formulas, not from the code under test), its toy tokenizer fits
// the released text vocabulary and gen_config.json, and the streamed writer writes what
// write_safetensors writes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/demo/demo_weights.h"
#include "engine/model/lm/mula_weights.h"
#include "engine/text/prompt.h"
#include "engine/text/tokenizer.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
using test::slurp;

// REFERENCE.md "Checkpoint layout" and "The language model".
constexpr std::int64_t kTextVocab = 128256;
constexpr std::int64_t kAudioVocab = 8197;
constexpr std::int64_t kCodebooks = 8;
constexpr std::int64_t kMuqDim = 512;

// A fresh folder under the system's temporary one, removed with its contents at scope exit.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("hs_released_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  fs::path operator/(const std::string& child) const { return path_ / child; }

 private:
  fs::path path_;
};

std::int64_t total_params(const std::vector<std::pair<std::string, Shape>>& shapes) {
  std::int64_t n = 0;
  for (const auto& [name, shape] : shapes) n += shape_numel(shape);
  return n;
}

// A Llama-3.2 stack of REFERENCE.md's flavor table: per layer q, k, v, o projections (k and v at
// kv_heads · head_dim outputs), w1, w2, w3, two norm scales; a final norm.
std::int64_t llama_params(std::int64_t layers, std::int64_t heads, std::int64_t kv_heads, std::int64_t dim,
                          std::int64_t ffn) {
  const std::int64_t kv_dim = kv_heads * (dim / heads);
  const std::int64_t layer = 2 * dim * dim + 2 * kv_dim * dim + 3 * dim * ffn + 2 * dim;
  return layers * layer + dim;
}

// A DiT stack of REFERENCE.md "The codec" at width `w`: the timestep MLP (512-d sinusoid → w → w),
// adaln (w → 6w), the final shift/scale table [2, w]; per block a [6, w] table, two RMSNorm
// weights, four attention projections and a gated MLP of hidden = a multiple of 256 ≥ 2/3·4w.
std::int64_t dit_params(std::int64_t layers, std::int64_t w) {
  constexpr std::int64_t kSinusoid = 512, kModulations = 6, kFinalRows = 2, kMultiple = 256;
  const std::int64_t hidden = (2 * 4 * w / 3 + kMultiple - 1) / kMultiple * kMultiple;
  const std::int64_t embed = (kSinusoid * w + w) + (w * w + w) + (w * kModulations * w + kModulations * w);
  const std::int64_t block = kModulations * w + 2 * w + 4 * w * w + 3 * w * hidden;
  return embed + kFinalRows * w + layers * block;
}

// ProjectLayer: Conv1d(k=3, bias) then Linear(bias).
std::int64_t project_params(std::int64_t in, std::int64_t out) { return (out * in * 3 + out) + (out * out + out); }

TEST(ReleasedShapes, ConfigsAreTheReleasedOnes) {
  const DemoCheckpointPlan plan = demo_checkpoint_plan(DemoShapes::Released3B);
  EXPECT_EQ(plan.version, "3B");  // --version 3B: HeartMuLa-oss-3B
  EXPECT_EQ(plan.mula.backbone_flavor, "llama-3B");
  EXPECT_EQ(plan.mula.decoder_flavor, "llama-300M");
  EXPECT_EQ(plan.mula.text_vocab_size, kTextVocab);
  EXPECT_EQ(plan.mula.audio_vocab_size, kAudioVocab);
  EXPECT_EQ(plan.mula.audio_num_codebooks, kCodebooks);
  EXPECT_EQ(plan.mula.muq_dim, kMuqDim);

  const CodecConfig& c = plan.codec;
  EXPECT_EQ(c.dim, 512);
  EXPECT_EQ(c.codebook_size, 8192);
  EXPECT_EQ(c.codebook_dim, 32);
  EXPECT_EQ(c.num_quantizers, 8);
  EXPECT_EQ(c.num_attention_heads, 24);
  EXPECT_EQ(c.attention_head_dim, 64);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_EQ(c.num_layers_2, 6);
  EXPECT_EQ(c.in_channels, 1024);
  EXPECT_EQ(c.out_channels, 256);
  EXPECT_EQ(c.upsample_factors, (std::vector<std::int64_t>{5, 4, 4, 4, 3}));
  EXPECT_EQ(c.upsample_kernel_sizes, (std::vector<std::int64_t>{10, 8, 8, 8, 6}));
  EXPECT_EQ(c.latent_hidden_dim, 128);
  EXPECT_EQ(c.init_channel, 64);
  EXPECT_EQ(c.num_samples, 2);
  EXPECT_EQ(c.res_kernel_size, 7);
  EXPECT_EQ(c.default_kernel_size, 7);
  EXPECT_EQ(c.delay_kernel_size, 5);
  EXPECT_TRUE(c.causal);
  EXPECT_EQ(c.sample_rate, 48000);

  // REFERENCE.md's gen_config.json.
  EXPECT_EQ(plan.gen.text_bos_id, 128000);
  EXPECT_EQ(plan.gen.text_eos_id, 128001);
  EXPECT_EQ(plan.gen.audio_eos_id, 8193);
  EXPECT_EQ(plan.gen.empty_id, 0);
}

TEST(ReleasedShapes, HeartMulaHasTheReleasedParameterCount) {
  const MulaConfig config = demo_checkpoint_plan(DemoShapes::Released3B).mula;
  constexpr std::int64_t kDim = 3072, kDecoderDim = 3072;  // llama-3B, llama-300M
  const std::int64_t backbone = llama_params(28, 24, 8, kDim, 8192);
  const std::int64_t decoder = llama_params(3, 8, 4, kDecoderDim, 8192);
  const std::int64_t embeddings = kTextVocab * kDim + kAudioVocab * kCodebooks * kDim + kDim;  // + unconditional row
  const std::int64_t heads = kDecoderDim * kDim                                 // projection
                             + kAudioVocab * kDim                               // codebook0_head
                             + (kCodebooks - 1) * kDecoderDim * kAudioVocab;    // audio_head
  const std::int64_t muq = kDim * kMuqDim + kDim;
  EXPECT_EQ(total_params(mula_tensor_shapes(config)), backbone + decoder + embeddings + heads + muq);
  // ~3.94 B parameters: the 7.9 GB of bf16 the released checkpoint holds.
  EXPECT_EQ(backbone + decoder + embeddings + heads + muq, 3'938'113'536);
}

TEST(ReleasedShapes, HeartCodecHasTheReleasedParameterCount) {
  const CodecConfig c = demo_checkpoint_plan(DemoShapes::Released3B).codec;
  constexpr std::int64_t kDim = 512, kCodeDim = 32, kWidth = 24 * 64, kInChannels = 1024, kLatent = 256;
  const std::int64_t rvq = 8 * 8192 * kCodeDim + (kDim * kCodeDim + kDim) + (kDim * kDim + kDim);
  const std::int64_t estimator = project_params(kInChannels, kWidth) + dit_params(24, kWidth) +
                                 project_params(kInChannels + kWidth, 2 * kWidth) + dit_params(6, 2 * kWidth) +
                                 project_params(2 * kWidth, kLatent);
  // Scalar decoder: weight-normed convs hold g [out] and v; channels start at init_channel · 2^5
  // and halve in each upsampling block; five residual units (k7 conv, k1 conv, PReLU after each).
  const auto wn_conv = [](std::int64_t out, std::int64_t in, std::int64_t k) { return out + out * in * k + out; };
  std::int64_t channels = 64 << 5;
  std::int64_t decoder = wn_conv(channels, 128, 5);
  for (const std::int64_t k : {10, 8, 8, 8, 6}) {
    decoder += channels + channels * (channels / 2) * k + channels / 2;  // ConvTranspose1d: g per input channel
    channels /= 2;
    decoder += 5 * (wn_conv(channels, channels, 7) + 1 + wn_conv(channels, channels, 1) + 1);
  }
  decoder += channels * channels * 7 + channels + 1;  // PostProcessor conv (plain) and PReLU
  decoder += wn_conv(1, channels, 7);                 // output conv
  EXPECT_EQ(total_params(codec_tensor_shapes(c)), rvq + estimator + decoder);
}

TEST(ReleasedShapes, ToyTokenizerFitsTheReleasedVocabularyAndGenConfig) {
  const DemoCheckpointPlan plan = demo_checkpoint_plan(DemoShapes::Released3B);
  const ScratchDir dir("tokenizer");
  const fs::path path = dir / "tokenizer.json";
  std::ofstream(path) << plan.tokenizer.json;
  const Tokenizer tokenizer = Tokenizer::load(path);
  EXPECT_EQ(tokenizer.token_to_id("<|begin_of_text|>"), plan.gen.text_bos_id);
  EXPECT_EQ(tokenizer.token_to_id("<|end_of_text|>"), plan.gen.text_eos_id);
  EXPECT_LE(static_cast<std::int64_t>(tokenizer.vocab_size()), plan.mula.text_vocab_size);

  const Prompt prompt = build_prompt(tokenizer, plan.gen, "piano,happy", "[verse]\nthe morning light — ¿qué?", 1.5f);
  const std::int32_t* ids = prompt.tokens.data<std::int32_t>();
  for (std::int64_t row = 0; row < prompt.length(); ++row) {
    const std::int32_t id = ids[row * kPromptColumns + kTextColumn];
    EXPECT_GE(id, 0) << row;
    EXPECT_LT(id, plan.mula.text_vocab_size) << row;
  }
  EXPECT_EQ(ids[kTextColumn], plan.gen.text_bos_id);
  EXPECT_EQ(ids[(prompt.length() - 1) * kPromptColumns + kTextColumn], plan.gen.text_eos_id);
}

TEST(ReleasedShapes, DemoShapesParseByNameAndRejectOthersListingTheAllowed) {
  EXPECT_EQ(parse_demo_shapes("demo"), DemoShapes::Demo);
  EXPECT_EQ(parse_demo_shapes("3B"), DemoShapes::Released3B);
  try {
    parse_demo_shapes("3b");
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    for (const char* part : {"'3b'", "demo", "3B"}) EXPECT_NE(what.find(part), std::string::npos) << what;
  }
}

// The LM is written a tensor at a time; the file must be what write_safetensors makes of the same
// tensors held in memory (header order, offsets, metadata, data).
TEST(ReleasedShapes, StreamedWeightsFileEqualsWriteSafetensorsOfTheSameTensors) {
  const ScratchDir dir("streamed");
  const DemoCheckpointPlan plan = demo_checkpoint_plan(DemoShapes::Demo);
  constexpr std::uint64_t kSeed = 5;
  write_random_mula_folder(dir / "streamed", plan.mula, plan.codec.codebook_size, kSeed);
  const fs::path streamed = dir / "streamed" / "model.safetensors";

  std::vector<std::pair<std::string, Tensor>> tensors;
  random_mula_weights(plan.mula, plan.codec.codebook_size, kSeed,
                      [&](const std::string& name, const Tensor& t) { tensors.emplace_back(name, t); });
  ASSERT_EQ(tensors.size(), mula_tensor_shapes(plan.mula).size());
  const fs::path in_memory = dir / "in_memory.safetensors";
  write_safetensors(in_memory, tensors, SafetensorsFile::open(streamed).metadata());
  EXPECT_EQ(slurp(streamed), slurp(in_memory));
}

}  // namespace
}  // namespace hs
