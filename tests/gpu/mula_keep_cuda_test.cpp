// An fp8 HeartMuLa with linears kept at bf16 (`heartstream quantize --keep`, Fp8CachedLinears) on
// the CUDA backend: the kept weights are bf16 on the device beside fp8 ones (run_linear dispatches on
// each Weight's dtype, GEMV and GEMM), and its teacher-forced guided logits stay within the kernels'
// fp8 bound (mula_cuda_test.cpp) of the CPU's simulation of the same mixed model. And HeartCodec's
// DiT, whose q/k/v run as one stacked GEMM: a pattern keeping only part of a stack is a clear error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "engine/model/codec/codec_model.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/lm/golden_case.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr double kFp8AgainstSimulation = 6e-2;  // as mula_cuda_test.cpp
// The heads and the first backbone layer: a GEMV and a prefill GEMM path each, at bf16.
const std::vector<std::string> kKeep{"codebook0_head.*", "audio_head.*", "backbone.layers.0.*"};

TEST(MulaKeepCuda, KeptLinearsRunAtBf16BesideFp8Ones) {
  HS_REQUIRE_GPU();
  const test::LmCaseInfo& c = test::lm_cases().front();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  // A copy of the golden LM: the cache is written next to the weights, and shared/ stays as it is.
  const fs::path dir = fs::temp_directory_path() / ("hs_mula_keep_cuda_" + std::to_string(::getpid()));
  fs::copy(case_file.parent_path() / "mula-tiny", dir, fs::copy_options::recursive);
  CpuBackend cpu;
  const auto simulated = MulaModel::load(cpu, dir, Precision::FP8, {.keep_bf16 = kKeep});
  MulaLoadReport report;
  const auto model = MulaModel::load(test::cuda_backend(DType::F32), dir, Precision::FP8, {}, &report);
  fs::remove_all(dir);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Hit) << report.cache.reason;
  EXPECT_EQ(model->weights().codebook0_head.values.dtype(), DType::BF16);
  EXPECT_EQ(model->weights().backbone.layers.at(0).w13.values.dtype(), DType::BF16);
  EXPECT_EQ(model->weights().backbone.layers.at(1).w13.values.dtype(), DType::F8_E4M3);

  const test::LmGolden g = test::load_lm_golden(case_file);
  const Tensor got = test::teacher_forced_logits(*model, g, c.cfg_scale);
  const double worst = test::worst_normalised_error(got, test::teacher_forced_logits(*simulated, g, c.cfg_scale));
  std::cout << "fp8 with kept bf16 linears: worst normalised logit error against the CPU simulation " << worst << "\n";
  RecordProperty("worst_normalised_logit_error_against_simulation", std::to_string(worst));
  EXPECT_LE(worst, kFp8AgainstSimulation);
}

TEST(CodecKeepCuda, APatternThatSplitsAStackedGemmIsAnError) {
  HS_REQUIRE_GPU();
  HS_REQUIRE_SHARED(codec, "golden/codec-tiny");
  const fs::path dir = fs::temp_directory_path() / ("hs_codec_keep_cuda_" + std::to_string(::getpid()));
  fs::copy(codec, dir, fs::copy_options::recursive);
  CudaBackend backend(CudaBackendOptions{.attention_tensor_cores = true});
  EXPECT_THROW(CodecModel::load(backend, dir, Precision::FP8, {.keep_bf16 = std::vector<std::string>{"*.attn.k_proj.*"}}),
               InvalidArgument);
  const CodecModel whole =
      CodecModel::load(backend, dir, Precision::FP8, {.keep_bf16 = std::vector<std::string>{"*.attn.[qkv]_proj.*"}});
  EXPECT_GT(whole.samples_per_code_frame(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hs
