// HeartMuLa on the CUDA backend against the reference goldens (golden/mula_cfg, mula_nocfg):
// teacher-forced guided logits per weight precision, fp32 activations with a bf16 KV cache and
// bf16 GEMV inputs for bf16 / fp8 weights (the backend's default; worst normalised error: fp32
// 1e-3, bf16 1e-2 — H200 0.0088 / 0.0068) and, with fp32 weights, greedy decoding reproducing the
// golden frames — that path replays the frame step as a CUDA Graph (unless HEARTSTREAM_CUDA_GRAPHS=0).
//
// fp8 cannot meet the brief's 5e-2 on this dim-64 tiny model, by the weight format alone: the CPU
// backend's fp8 simulation (per-output-channel E4M3 weights, every other value fp32) is already
// 0.1188 / 0.1193 from the fp32 model (tests/lm/mula_fp8_sim_test.cpp); the H200 measures 0.128 /
// 0.122 for the whole CUDA path. So fp8 is held to two bounds: against the goldens 0.14 (the
// format's 0.119 plus the CUDA path's own rounding), and against the CPU fp8 simulation — the
// same E4M3 weights, so the kernels' error alone — 6e-2, the bound of tests/gpu/linear_test.cpp
// for GEMMs with fp8 activations, which the fp8 prefill uses (its per-row activation rounding
// alone gives 0.049 / 0.035, CPU emulation, 2026-11-25).
#include <gtest/gtest.h>

#include <iostream>

#include "engine/backends/backend_factory.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/lm/golden_case.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

struct PrecisionCase {
  const char* name;
  Precision precision;
  double tolerance;
};

constexpr double kFp8AgainstSimulation = 6e-2;
// The fp8 KV cache against the default one on the same model: the CPU measures the cache format at
// 0.0178 / 0.0062 against fp32 (kv_cache_fp8_test.cpp); the H200 0.0178 / 0.0062 with fp32
// weights, 0.0158 / 0.0091 with bf16 (against a bf16 cache) and 0.047 / 0.029 with fp8 weights,
// whose noisier logits (0.12 from the goldens) move more with the cache's rounding (2026-12-04).
constexpr double kFp8KvAgainstDefault = 0.025;
constexpr double kFp8KvAgainstDefaultFp8Weights = 0.06;

const PrecisionCase kPrecisions[] = {
    {"f32", Precision::F32, 1e-3},
    {"bf16", Precision::BF16, 1e-2},
    {"fp8", Precision::FP8, 0.14},
};

std::shared_ptr<const MulaModel> cuda_model(const std::filesystem::path& golden_dir, Precision precision) {
  static std::map<Precision, std::shared_ptr<const MulaModel>> models;
  auto& m = models[precision];
  if (!m) {
    CudaBackend& backend = test::cuda_backend(DType::F32);
    m = MulaModel::load(backend, golden_dir / "mula-tiny", precision, {.weight_cache = false});  // shared/ stays as it is
  }
  return m;
}

class MulaCuda : public ::testing::TestWithParam<std::tuple<test::LmCaseInfo, PrecisionCase>> {};

TEST_P(MulaCuda, TeacherForcedGuidedLogits) {
  HS_REQUIRE_GPU();
  const auto& [c, p] = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = cuda_model(case_file.parent_path(), p.precision);
  const test::LmGolden g = test::load_lm_golden(case_file);
  const Tensor got = test::teacher_forced_logits(*model, g, c.cfg_scale);
  const double worst = test::worst_normalised_error(got, g.guided_logits.reshape(got.shape()));
  std::cout << c.name << " " << p.name << ": worst normalised logit error " << worst << "\n";
  RecordProperty("worst_normalised_logit_error", std::to_string(worst));
  EXPECT_LE(worst, p.tolerance);
  if (p.precision != Precision::FP8) return;
  static CpuBackend cpu;
  static const auto simulated = MulaModel::load(cpu, case_file.parent_path() / "mula-tiny", Precision::FP8,
                                                {.weight_cache = false});
  const double kernels = test::worst_normalised_error(got, test::teacher_forced_logits(*simulated, g, c.cfg_scale));
  std::cout << c.name << " fp8: worst normalised logit error against the CPU fp8 simulation " << kernels << "\n";
  RecordProperty("worst_normalised_logit_error_against_fp8_simulation", std::to_string(kernels));
  EXPECT_LE(kernels, kFp8AgainstSimulation);
}

// The fp8 KV cache on the device (kv_store's quantization in the fused rope step, attention over
// E4M3 with per-vector scales) against the same model with its default cache: the cache format's
// own error, which the CPU measures as KvCacheFp8Golden (tests/lm/kv_cache_fp8_test.cpp).
TEST_P(MulaCuda, Fp8KvCacheAgainstTheDefaultCache) {
  HS_REQUIRE_GPU();
  const auto& [c, p] = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = cuda_model(case_file.parent_path(), p.precision);
  const test::LmGolden g = test::load_lm_golden(case_file);
  const Tensor got = test::teacher_forced_logits(*model, g, c.cfg_scale, KvCache::Fp8);
  const double error = test::worst_normalised_error(got, test::teacher_forced_logits(*model, g, c.cfg_scale));
  const double golden = test::worst_normalised_error(got, g.guided_logits.reshape(got.shape()));
  std::cout << c.name << " " << p.name << " fp8 KV cache: worst normalised logit error " << error
            << " against the default cache, " << golden << " against the goldens\n";
  RecordProperty("worst_normalised_logit_error_fp8_kv", std::to_string(error));
  const double bound = p.precision == Precision::FP8 ? kFp8KvAgainstDefaultFp8Weights : kFp8KvAgainstDefault;
  EXPECT_GT(error, 0.0);
  EXPECT_LE(error, bound);
  EXPECT_LE(golden, p.tolerance + bound);
}

TEST_P(MulaCuda, GreedyFramesFp32) {
  HS_REQUIRE_GPU();
  const auto& [c, p] = GetParam();
  if (p.precision != Precision::F32) GTEST_SKIP() << "exact frames are expected at fp32 only";
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = cuda_model(case_file.parent_path(), p.precision);
  const test::LmGolden g = test::load_lm_golden(case_file);
  const std::int64_t frames = g.frames.dim(1);
  MulaSession session(*model, g.prompt, {{.temperature = 1.0f, .topk = 1, .cfg_scale = c.cfg_scale}, 7, frames});
  for (std::int64_t t = 0; t < frames; ++t) {
    const auto frame = session.step();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(*frame, test::golden_frame(g.frames, t)) << c.name << " frame " << t;
  }
}

// 4-bit weights (nf4, int4) on the device against the CPU holding the same dequantized values: the
// GEMV over the codes and the widened prefill GEMMs add only bf16 roundings (bound as bf16's against
// fp32, 1e-2, doubled for the widened weights' own rounding to bf16; measured 0.006-0.011 on the
// H200). The error against the fp32 goldens is the format's (measured 0.26-0.27 nf4, 0.31-0.32
// int4, 2026-12-04), bounded at 0.4; the quality report at the released shapes is in docs/fp8.md.
constexpr double kQ4AgainstSimulation = 2e-2;
constexpr double kQ4AgainstGoldens = 0.4;

class MulaCuda4Bit : public ::testing::TestWithParam<std::tuple<test::LmCaseInfo, Precision>> {};

TEST_P(MulaCuda4Bit, TeacherForcedLogitsAgainstTheCpuSimulation) {
  HS_REQUIRE_GPU();
  const auto& [c, precision] = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = cuda_model(case_file.parent_path(), precision);
  const test::LmGolden g = test::load_lm_golden(case_file);
  const Tensor got = test::teacher_forced_logits(*model, g, c.cfg_scale);
  CpuBackend cpu;
  const auto simulated = MulaModel::load(cpu, case_file.parent_path() / "mula-tiny", precision, {.weight_cache = false});
  const double kernels = test::worst_normalised_error(got, test::teacher_forced_logits(*simulated, g, c.cfg_scale));
  const double format = test::worst_normalised_error(got, g.guided_logits.reshape(got.shape()));
  std::cout << c.name << " " << precision_name(precision) << ": worst normalised logit error against the CPU simulation "
            << kernels << ", against the fp32 goldens " << format << "\n";
  EXPECT_LE(kernels, kQ4AgainstSimulation);
  EXPECT_LE(format, kQ4AgainstGoldens);
}

INSTANTIATE_TEST_SUITE_P(Golden, MulaCuda4Bit,
                         ::testing::Combine(::testing::ValuesIn(test::lm_cases()),
                                            ::testing::Values(Precision::NF4, Precision::INT4)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" +
                                  std::string(precision_name(std::get<1>(info.param)));
                         });

INSTANTIATE_TEST_SUITE_P(Golden, MulaCuda,
                         ::testing::Combine(::testing::ValuesIn(test::lm_cases()), ::testing::ValuesIn(kPrecisions)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" + std::get<1>(info.param).name;
                         });

}  // namespace
}  // namespace hs
