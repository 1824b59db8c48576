// `generate --device cuda` at engine level, on the demo checkpoint: the backend factory puts both
// models on the CUDA backend (the codec on the CPU when told), as the CLI and the daemon load them.
// At fp32 greedy frames equal the CPU's; at bf16 and fp8 they are valid codes that the GPU codec
// decodes, through the streaming decoder, to frames × 80 ms of finite, non-silent audio.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "engine/backends/backend_factory.h"
#include "engine/core/noise.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/pipeline/generator.h"
#include "engine/pipeline/song_seed.h"
#include "engine/pipeline/streaming_decoder.h"
#include "engine/pipeline/vram_plan.h"
#include "engine/text/prompt.h"
#include "engine/text/tokenizer.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMaxAudioMs = 1600;  // 21 frames
constexpr std::uint64_t kSeed = 5;
constexpr float kCfgScale = 1.5f;
constexpr int kChannels = 2;

// The demo checkpoint, written once per test binary and removed at exit.
const CheckpointPaths& demo() {
  struct Folder {
    fs::path dir = fs::temp_directory_path() / ("hs_generate_cuda_" + std::to_string(::getpid()));
    CheckpointPaths paths;
    Folder() {
      CpuBackend cpu;
      paths = write_demo_checkpoint(dir, cpu);
    }
    ~Folder() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static const Folder folder;
  return folder.paths;
}

// Greedy frames of one song from the LM on `backends.lm`.
std::vector<Frame> greedy_frames(const ModelBackends& backends, float cfg_scale) {
  const CheckpointPaths& paths = demo();
  const GenConfig gen = read_gen_config(paths.gen_config);
  const Tokenizer tokenizer = Tokenizer::load(paths.tokenizer);
  const auto model = MulaModel::load(*backends.lm, paths.mula_dir, backends.lm_precision);
  const GenerationRequest request{build_prompt(tokenizer, gen, "piano,happy", "[verse] la la la", cfg_scale),
                                  kMaxAudioMs,
                                  {.temperature = 0.0f, .topk = 1, .cfg_scale = cfg_scale},
                                  kSeed};
  Generator generator(model, gen, request);
  std::vector<Frame> frames;
  generator.run([&](const Frame& f) { frames.push_back(f); });
  return frames;
}

TEST(GenerateCuda, FactoryPutsBothModelsOnTheGpuUnlessTheCodecIsToldOtherwise) {
  HS_REQUIRE_GPU();
  const ModelBackends b = make_model_backends({Device::Cuda, Precision::FP8});
  EXPECT_EQ(b.lm->name(), "cuda");
  EXPECT_EQ(b.lm_precision, Precision::FP8);
  EXPECT_EQ(b.codec->name(), "cuda");
  EXPECT_NE(b.codec.get(), b.lm.get());
  EXPECT_EQ(b.codec_precision, Precision::FP8);
  const ModelBackends small_card = make_model_backends({Device::Cuda, Precision::FP8, Device::Cpu});
  EXPECT_EQ(small_card.codec->name(), "cpu");
  EXPECT_EQ(small_card.codec_precision, Precision::F32);
  const ModelBackends bf16_codec = make_model_backends({Device::Cuda, Precision::FP8, std::nullopt, Precision::BF16});
  EXPECT_EQ(bf16_codec.codec->name(), "cuda");
  EXPECT_EQ(bf16_codec.codec_precision, Precision::BF16);
}

TEST(GenerateCuda, Fp32GreedyFramesEqualTheCpus) {
  HS_REQUIRE_GPU();
  for (const float cfg_scale : {kCfgScale, 1.0f}) {
    const std::vector<Frame> cpu = greedy_frames(make_model_backends({Device::Cpu, Precision::F32}), cfg_scale);
    const std::vector<Frame> cuda = greedy_frames(make_model_backends({Device::Cuda, Precision::F32}), cfg_scale);
    ASSERT_FALSE(cpu.empty());
    EXPECT_EQ(cuda, cpu) << "cfg " << cfg_scale;
  }
}

// A GPU by number (issue 15): the backends of cuda:0 named explicitly, made on this thread, with
// the model loaded and run on another (as the daemon's engine worker runs it; every op makes its
// backend's GPU current first), give the CPU's frames; a GPU past the last is refused, naming it. With two GPUs
// the LM and the codec go to different ones.
TEST(GenerateCuda, GpusByNumberAndOpsFromAnotherThread) {
  HS_REQUIRE_GPU();
  BackendChoice choice{.device = Device::Cuda, .precision = Precision::F32, .codec_device = Device::Cuda};
  choice.codec_device_index = cuda_device_count() > 1 ? 1 : 0;
  const ModelBackends backends = make_model_backends(choice, {.device = "--device"});
  EXPECT_EQ(backends.lm->name(), "cuda");
  EXPECT_EQ(backends.codec->name(), device_label(Device::Cuda, choice.codec_device_index));
  std::vector<Frame> on_another_thread;
  std::thread worker([&] { on_another_thread = greedy_frames(backends, kCfgScale); });
  worker.join();
  const std::vector<Frame> cpu = greedy_frames(make_model_backends({Device::Cpu, Precision::F32}), kCfgScale);
  ASSERT_FALSE(cpu.empty());
  EXPECT_EQ(on_another_thread, cpu);

  choice.device_index = cuda_device_count();
  const std::string missing = "--device cuda:" + std::to_string(cuda_device_count()) + ": this machine has ";
  try {
    make_model_backends(choice, {.device = "--device"});
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(missing, 0), 0u) << e.what();
  }
}

TEST(GenerateCuda, Bf16AndFp8FramesDecodeOnTheGpuCodec) {
  HS_REQUIRE_GPU();
  const std::vector<Frame> reference = greedy_frames(make_model_backends({}), kCfgScale);
  for (const Precision precision : {Precision::BF16, Precision::FP8}) {
    const ModelBackends backends = make_model_backends({Device::Cuda, precision});
    const std::vector<Frame> frames = greedy_frames(backends, kCfgScale);
    ASSERT_FALSE(frames.empty()) << precision_name(precision);
    ASSERT_LE(static_cast<std::int64_t>(frames.size()), max_frames_for(kMaxAudioMs));
    std::size_t same = 0;
    for (std::size_t t = 0; t < frames.size() && t < reference.size(); ++t) same += frames[t] == reference[t];
    std::cout << precision_name(precision) << ": " << same << " of " << frames.size()
              << " greedy frames equal the fp32 CPU's\n";

    const CodecModel codec = CodecModel::load(*backends.codec, demo().codec_dir, backends.codec_precision);
    for (const Frame& f : frames)
      for (const std::int32_t code : f) ASSERT_TRUE(code >= 0 && code < codec.config().codebook_size) << code;
    GaussianNoise noise(codec_noise_seed(kSeed));
    StreamingDecoder decoder(codec, noise);
    std::vector<float> pcm;
    for (const Frame& f : frames) {
      decoder.push(f);
      const std::vector<float> chunk = decoder.pull();
      pcm.insert(pcm.end(), chunk.begin(), chunk.end());
    }
    decoder.finish();
    const std::vector<float> tail = decoder.pull();
    pcm.insert(pcm.end(), tail.begin(), tail.end());
    ASSERT_EQ(static_cast<std::int64_t>(pcm.size()),
              static_cast<std::int64_t>(frames.size()) * codec.samples_per_code_frame() * kChannels);
    double sum_sq = 0.0;
    for (const float x : pcm) {
      ASSERT_TRUE(std::isfinite(x));
      sum_sq += double{x} * x;
    }
    EXPECT_GT(sum_sq, 0.0) << precision_name(precision);
  }
}

// A song planned by plan_vram, loaded under a budget of exactly the plan's estimate: the LM's
// frames and the GPU codec's streamed audio fit (an estimate short of what the engine allocates
// would be an OutOfMemory here), for the plans of the demo shapes that keep the codec on the GPU.
TEST(GenerateCuda, APlannedSongFitsABudgetOfItsEstimate) {
  HS_REQUIRE_GPU();
  const CheckpointPaths& paths = demo();
  const MulaConfig mula = read_mula_config(paths.mula_dir / "config.json");
  const CodecConfig codec_config = read_codec_config(paths.codec_dir / "config.json");
  for (const Precision precision : {Precision::BF16, Precision::FP8})
    for (const KvCache kv : {KvCache::Auto, KvCache::Fp8}) {
      VramRequest request{.budget_bytes = static_cast<std::size_t>(80e9), .song_ms = kMaxAudioMs,
                          .precision = precision, .codec_device = Device::Cuda, .kv_cache = kv};
      request.fp8_widened = cuda_fp8_widened();
      const VramPlan plan = plan_vram(mula, codec_config, request);
      BackendChoice choice{Device::Cuda, plan.precision, plan.codec_device, plan.codec_precision};
      choice.vram_budget_bytes = plan.total();
      const ModelBackends backends = make_model_backends(choice);
      const GenConfig gen = read_gen_config(paths.gen_config);
      const auto model = MulaModel::load(*backends.lm, paths.mula_dir, backends.lm_precision);
      const CodecModel codec = CodecModel::load(*backends.codec, paths.codec_dir, backends.codec_precision);
      GenerationRequest song{build_prompt(Tokenizer::load(paths.tokenizer), gen, "piano,happy", "[verse] la la la",
                                          kCfgScale),
                             kMaxAudioMs, {.temperature = 0.0f, .topk = 1, .cfg_scale = kCfgScale}, kSeed};
      song.kv_cache = plan.kv_cache;
      GaussianNoise noise(codec_noise_seed(kSeed));
      StreamingDecoder decoder(codec, noise);
      std::size_t samples = 0;
      Generator generator(model, gen, song);
      generator.run([&](const Frame& f) {
        decoder.push(f);
        samples += decoder.pull().size();
      });
      decoder.finish();
      samples += decoder.pull().size();
      EXPECT_GT(samples, 0u);
      EXPECT_LE(backends.budget->peak(), plan.total());
      std::cout << precision_name(precision) << " " << kv_cache_name(kv) << ": peak " << backends.budget->peak()
                << " bytes of the planned " << plan.total() << "\n";
    }
}

}  // namespace
}  // namespace hs
