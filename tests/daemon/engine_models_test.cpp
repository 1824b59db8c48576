// The daemon's models on their backends: the LM on model.device at model.precision, the codec on
// model.codec_device at model.codec_precision (unset: following the LM); a device or precision this
// build or machine cannot run is a ConfigError naming its key, at startup (before the checkpoint is
// read) and from --check-config.
#include "daemon/engine_models.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "tests/daemon/test_daemon.h"

namespace hs::test {
namespace {

daemon::ModelConfig demo_config(const std::string& device, const std::string& precision,
                                std::optional<std::string> codec_device = std::nullopt,
                                std::optional<std::string> codec_precision = std::nullopt) {
  return {.path = demo_checkpoint().string(),
          .version = "demo",
          .device = device,
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
