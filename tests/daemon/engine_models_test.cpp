// The daemon's models on their backends: the LM on model.device at model.precision, the codec on
// model.codec_device at model.codec_precision (unset: following the LM); a device or precision this
// build or machine cannot run is a ConfigError naming its key, at startup (before the checkpoint is
// read) and from --check-config.
#include "daemon/engine_models.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "engine/model/demo/demo_checkpoint.h"
#include "engine/pipeline/vram_plan.h"
#include "tests/daemon/test_daemon.h"

namespace hs::test {
namespace {

daemon::ModelConfig demo_config(const std::string& device, const std::string& precision,
                                std::optional<std::string> codec_device = std::nullopt,
                                std::optional<std::string> codec_precision = std::nullopt) {
  return {.path = demo_checkpoint().string(),
          .version = "demo",
          .device = device,
          .devices = {},
          .precision = precision,
          .codec_device = std::move(codec_device),
          .codec_precision = std::move(codec_precision)};
}

// The ConfigError message of loading `config` ("" when it loads).
std::string load_error(const daemon::ModelConfig& config) {
  try {
    daemon::load_engine_models(config);
  } catch (const daemon::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(EngineModels, LanguageModelAndCodecRunOnTheirOwnBackends) {
  const daemon::EngineModels m = daemon::load_engine_models(demo_config("cpu", "fp32"));
  ASSERT_TRUE(m.backends.lm && m.backends.codec);
  EXPECT_EQ(&m.mula->backend(), m.backends.lm.get());
  EXPECT_EQ(&m.codec->backend(), m.backends.codec.get());
  EXPECT_EQ(m.mula->precision(), Precision::F32);
  EXPECT_EQ(m.description, "HeartMuLa-oss-demo on cpu (fp32) + HeartCodec-oss on cpu (fp32)");
}

TEST(EngineModels, CodecSettingsGivenExplicitlyAreUsed) {
  const daemon::EngineModels m = daemon::load_engine_models(demo_config("cpu", "fp32", "cpu", "fp32"));
  EXPECT_EQ(m.description, "HeartMuLa-oss-demo on cpu (fp32) + HeartCodec-oss on cpu (fp32)");
}

TEST(EngineModels, OnCudaTheCodecFollowsTheLanguageModelUnlessToldOtherwise) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const daemon::EngineModels both = daemon::load_engine_models(demo_config("cuda", "fp8"));
  EXPECT_EQ(both.description, "HeartMuLa-oss-demo on cuda (fp8) + HeartCodec-oss on cuda (fp8)");
  const daemon::EngineModels split = daemon::load_engine_models(demo_config("cuda", "fp8", "cpu"));
  EXPECT_EQ(split.description, "HeartMuLa-oss-demo on cuda (fp8) + HeartCodec-oss on cpu (fp32)");
}

TEST(EngineModels, CodecSettingsThatCannotRunAreConfigErrorsNamingTheirKeys) {
  const daemon::ModelConfig low_precision = demo_config("cpu", "fp32", std::nullopt, "bf16");
  EXPECT_EQ(load_error(low_precision),
            "model.codec_precision bf16: the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need model.device cuda");
  EXPECT_THROW(daemon::checked_backend_choice(low_precision), daemon::ConfigError);
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  const daemon::ModelConfig codec_on_cuda = demo_config("cpu", "fp32", "cuda");
  EXPECT_EQ(load_error(codec_on_cuda).rfind("model.codec_device cuda: ", 0), 0u) << load_error(codec_on_cuda);
  EXPECT_THROW(daemon::checked_backend_choice(codec_on_cuda), daemon::ConfigError);
}

TEST(EngineModels, CudaWhereThereIsNoneIsAConfigErrorNamingModelDevice) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  const std::string why = cuda_backend_built() ? "no CUDA device found"
                                               : "this build has no CUDA backend (configure with -DHEARTSTREAM_CUDA=ON "
                                                 "and the CUDA toolkit)";
  for (const char* precision : {"fp32", "bf16", "fp8"}) {
    const daemon::ModelConfig config = demo_config("cuda", precision);
    EXPECT_EQ(load_error(config).rfind("model.device cuda: " + why, 0), 0u) << load_error(config);
    EXPECT_THROW(daemon::checked_backend_choice(config), daemon::ConfigError);
  }
  // The device is checked before the checkpoint: a missing folder does not hide it.
  daemon::ModelConfig missing = demo_config("cuda", "fp8");
  missing.path = "/nonexistent/ckpt";
  EXPECT_EQ(load_error(missing).rfind("model.device cuda: ", 0), 0u) << load_error(missing);
}

TEST(EngineModels, Bf16AndFp8OnCpuAreConfigErrorsNamingModelPrecision) {
  for (const std::string precision : {"bf16", "fp8"})
    EXPECT_EQ(load_error(demo_config("cpu", precision)),
              "model.precision " + precision + ": the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need model.device cuda");
}

}  // namespace
}  // namespace hs::test

namespace hs::test {
namespace {

// model.vram_budget_gb: no budget leaves the configuration as it is; a budget needs cuda.
TEST(EngineModels, AVramBudgetNeedsCuda) {
  daemon::DaemonConfig config;
  config.model = demo_config("cpu", "fp32");
  EXPECT_EQ(daemon::with_vram_plan(config).model.precision, "fp32");
  config.model.vram_budget_gb = "6";
  try {
    daemon::with_vram_plan(config);
    ADD_FAILURE() << "a budget on the cpu planned";
  } catch (const daemon::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.vram_budget_gb"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hs::test

namespace hs::test {
namespace {

// with_vram_plan's plan, without a GPU: the released shapes, a budget in bytes, model.* on cuda.
class DaemonVramPlan : public ::testing::Test {
 protected:
  DaemonVramPlan() : shapes_(demo_checkpoint_plan(DemoShapes::Released3B)) {
    config_.model.device = "cuda";
    choice_.set_device(parse_device("cuda"));
  }
  daemon::DaemonConfig plan(double gb, bool fill_kv) const {
    return daemon::plan_daemon_vram(config_, choice_, shapes_.mula, shapes_.codec, static_cast<std::size_t>(gb * 1e9),
                                    fill_kv, false);
  }
  // The plan's bytes besides the KV pool for `songs` songs of generation.max_audio_length_ms (their
  // codec calls decoded together, streaming.codec_batch), and one song's KV cache of `ms`.
  VramNeeds needs(const daemon::DaemonConfig& planned, std::int64_t ms) const {
    return vram_needs(shapes_.mula, shapes_.codec, {.song_ms = ms, .codec_batch = planned.streaming.codec_batch},
                      parse_precision(planned.model.precision),
                      parse_precision(*planned.model.codec_precision), parse_device(*planned.model.codec_device).device,
                      parse_kv_cache(planned.model.kv_cache, "kv"));
  }
  double besides_kv(const daemon::DaemonConfig& planned) const {
    const VramNeeds n = needs(planned, planned.generation.max_audio_length_ms);
    return static_cast<double>(n.lm_weights + n.codec_weights + n.fixed +
                               static_cast<std::size_t>(planned.server.max_sessions) * (n.per_song - n.song_kv) +
                               n.codec_calls(planned.server.max_sessions));
  }

  DemoCheckpointPlan shapes_;
  daemon::DaemonConfig config_;  // the defaults: 16 songs of 240 s, precision fp32 (open), kv_cache auto
  BackendChoice choice_;
};

// Unset budget on a roomy GPU: the most precise plan, every slot, and the worker's own KV pool (16
// songs of 240 s, not the whole budget); a named budget gives the pool all that is left.
TEST_F(DaemonVramPlan, ARoomyGpuKeepsEverySlotAndTheUsualPool) {
  const daemon::DaemonConfig roomy = plan(80, false);
  EXPECT_EQ(roomy.model.precision, "bf16");
  EXPECT_EQ(roomy.model.codec_device, "cuda");
  EXPECT_EQ(roomy.model.codec_precision, "bf16");
  EXPECT_EQ(roomy.model.kv_cache, "auto");
  EXPECT_EQ(roomy.server.max_sessions, 16);
  const std::size_t song_kv = needs(roomy, 240000).song_kv;
  EXPECT_GE(roomy.model.kv_cache_gb * 1e9, 16.0 * static_cast<double>(song_kv));
  EXPECT_LT(roomy.model.kv_cache_gb * 1e9, 17.0 * static_cast<double>(song_kv));
  const daemon::DaemonConfig filled = plan(80, true);
  EXPECT_NEAR(filled.model.kv_cache_gb * 1e9 + besides_kv(filled), 80e9, 1e6);
  config_.model.kv_cache_gb = 2.5;  // set in the file: kept either way
  EXPECT_EQ(plan(80, true).model.kv_cache_gb, 2.5);
}

// A one-slot daemon's pool also holds a song of generation.max_audio_length_ms_limit.
TEST_F(DaemonVramPlan, TheUsualPoolHoldsTheLongestSong) {
  config_.server.max_sessions = 1;
  const daemon::DaemonConfig one = plan(80, false);
  EXPECT_GE(one.model.kv_cache_gb * 1e9, static_cast<double>(needs(one, config_.generation.max_audio_length_ms_limit).song_kv));
}

// A small card: fewer songs at once, and everything within the budget.
TEST_F(DaemonVramPlan, ASmallCardTakesFewerSongs) {
  for (const bool fill_kv : {false, true}) {
    const daemon::DaemonConfig small = plan(8, fill_kv);
    EXPECT_GE(small.server.max_sessions, 1);
    EXPECT_LT(small.server.max_sessions, 16);
    EXPECT_LE(small.model.kv_cache_gb * 1e9 + besides_kv(small), 8e9) << fill_kv;
    EXPECT_GE(small.model.kv_cache_gb * 1e9,
              static_cast<double>(small.server.max_sessions) * static_cast<double>(needs(small, 240000).song_kv));
  }
  try {
    plan(1, false);
    ADD_FAILURE() << "1 GB planned a 3B song";
  } catch (const daemon::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("model.vram_budget_gb: vram budget 1.00 GB: nothing fits 1 song", 0), 0u)
        << e.what();
  }
}

// model.precision other than fp32 is kept, and sets the codec's on the GPU.
TEST_F(DaemonVramPlan, AGivenPrecisionIsKeptWithItsCodec) {
  config_.model.precision = "fp8";
  choice_.precision = Precision::FP8;
  const daemon::DaemonConfig fp8 = plan(80, false);
  EXPECT_EQ(fp8.model.precision, "fp8");
  EXPECT_EQ(fp8.model.codec_precision, "fp8");
  EXPECT_EQ(fp8.server.max_sessions, 16);
}

// More sessions than fit beside the codec on the GPU (256 songs of 60 s at fp8 in an H100's free
// 84 GB): fewer sessions with the codec on the GPU, not every session with it on the CPU, where not
// one song is real time; model.codec_device: cpu keeps it there with every session.
TEST_F(DaemonVramPlan, ManySessionsKeepTheCodecOnTheGpu) {
  config_.model.precision = "fp8";
  choice_.precision = Precision::FP8;
  config_.server.max_sessions = 256;
  config_.generation.max_audio_length_ms = 60000;
  const daemon::DaemonConfig many = plan(84, false);
  EXPECT_EQ(many.model.codec_device, "cuda");
  EXPECT_GE(many.server.max_sessions, 64);
  EXPECT_LT(many.server.max_sessions, 256);
  config_.model.codec_device = "cpu";
  choice_.codec_device = Device::Cpu;
  const daemon::DaemonConfig on_cpu = plan(84, false);
  EXPECT_EQ(on_cpu.model.codec_device, "cpu");
  EXPECT_EQ(on_cpu.server.max_sessions, 256);
}

// Unset or off on the CPU, and off on cuda: no plan (with_vram_plan returns the configuration).
TEST(EngineModels, NoPlanOnTheCpuOrWhenOff) {
  daemon::DaemonConfig config;
  config.model = demo_config("cpu", "fp32");
  for (const char* budget : {"", "off"}) {
    config.model.vram_budget_gb = budget;
    const daemon::DaemonConfig same = daemon::with_vram_plan(config);
    EXPECT_EQ(same.model.kv_cache_gb, 0) << budget;
    EXPECT_EQ(same.model.vram_budget_bytes, 0u) << budget;
  }
  config.model = demo_config("cuda", "fp32");
  config.model.vram_budget_gb = "off";
  config.model.path = "/nonexistent";  // neither read nor its device checked
  EXPECT_EQ(daemon::with_vram_plan(config).model.vram_budget_bytes, 0u);
}

}  // namespace
}  // namespace hs::test
