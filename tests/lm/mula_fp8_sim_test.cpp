// HeartMuLa with fp8 weights simulated on the CPU backend (per-output-channel E4M3 weights held
// dequantized, every other value fp32) against the fp32 CPU model on the golden prompts, teacher
// forced: the worst normalised guided-logit error max|a − b| / max|b| over every frame and
// codebook is the error of the E4M3 weight format alone: 0.1188 (mula_cfg) / 0.1193 (mula_nocfg)
// (x86-64, 2026-11-25), against 0.128 / 0.122 for the whole CUDA fp8 path on the H200
// (tests/gpu/mula_cuda_test.cpp: bf16 GEMV inputs and KV cache, fp8 activations at prefill on top).
// The bound sits just above the measurement, so a change of the quantization rule shows up here.
#include <gtest/gtest.h>

#include <iostream>

#include "engine/model/lm/mula_session.h"
#include "tests/lm/golden_case.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

constexpr double kFp8SimulationBound = 0.125;  // measured 0.1188 / 0.1193

class MulaFp8Simulation : public ::testing::TestWithParam<test::LmCaseInfo> {};

TEST_P(MulaFp8Simulation, TeacherForcedLogitErrorIsTheWeightFormats) {
  const test::LmCaseInfo& c = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  static CpuBackend backend;
  // The shared folder is read-only: no weight cache for this load.
  static const auto fp8 = MulaModel::load(backend, case_file.parent_path() / "mula-tiny", Precision::FP8,
                                          {.weight_cache = false});
  const auto f32 = test::tiny_model(case_file.parent_path());
  const test::LmGolden g = test::load_lm_golden(case_file);
  const Tensor got = test::teacher_forced_logits(*fp8, g, c.cfg_scale);
  const Tensor want = test::teacher_forced_logits(*f32, g, c.cfg_scale);
  const double error = test::worst_normalised_error(got, want);
  const double golden_error = test::worst_normalised_error(got, g.guided_logits.reshape(want.shape()));
  std::cout << c.name << " fp8 (CPU simulation): worst normalised logit error " << error << " against the fp32 CPU model, "
            << golden_error << " against the golden logits\n";
  RecordProperty("worst_normalised_logit_error", std::to_string(error));
  EXPECT_GT(error, 0.0) << "fp8 weights must differ from fp32 ones";
  EXPECT_LE(error, kFp8SimulationBound);
}

INSTANTIATE_TEST_SUITE_P(Golden, MulaFp8Simulation, ::testing::ValuesIn(test::lm_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace hs
