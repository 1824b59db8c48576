// HeartMuLa on the CUDA backend against the reference goldens (golden/mula_cfg, mula_nocfg):
// teacher-forced guided logits per weight precision, fp32 activations with a bf16 KV cache and
// bf16 GEMV inputs for bf16 / fp8 weights (the backend's default; normalised error: fp32 1e-3,
// bf16 1e-2 — H200 0.0088 / 0.0068 — fp8 5e-2) and, with fp32 weights, greedy decoding
// reproducing the golden frames — that path replays the frame step as a CUDA Graph (unless
// HEARTSTREAM_CUDA_GRAPHS=0).
//
// fp8 on this dim-64 tiny model misses 5e-2 by the weight format alone: per-output-channel E4M3
// weights with every other value in fp32 give 0.119 (cfg) / 0.119 (nocfg), per-row fp8
// activations at prefill alone 0.049 / 0.035 (CPU emulation of the rounding, 2026-11-25; the
// H200 measures 0.12). The bound stays at the brief's 5e-2 until a finer weight-scale granularity
// (per block of 32–128 inputs) or a real-size model shows what fp8 should be held to.
#include <gtest/gtest.h>

#include <iostream>

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

const PrecisionCase kPrecisions[] = {
    {"f32", Precision::F32, 1e-3},
    {"bf16", Precision::BF16, 1e-2},
    {"fp8", Precision::FP8, 5e-2},
};

std::shared_ptr<const MulaModel> cuda_model(const std::filesystem::path& golden_dir, Precision precision) {
  static std::map<Precision, std::shared_ptr<const MulaModel>> models;
  auto& m = models[precision];
  if (!m) {
    CudaBackend& backend = test::cuda_backend(DType::F32);
    m = MulaModel::load(backend, golden_dir / "mula-tiny", precision);
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
  const std::int64_t frames = g.frames.dim(1), vocab = model->audio_vocab();
  MulaSession session(*model, g.prompt, {{.temperature = 1.0f, .topk = 1, .cfg_scale = c.cfg_scale}, 0, frames});
  double worst = 0.0;
  for (std::int64_t t = 0; t < frames; ++t) {
    const Frame forced = test::golden_frame(g.frames, t);
    Tensor guided;
    ASSERT_TRUE(session.step({.forced = &forced, .guided_logits = &guided}).has_value());
    for (std::int64_t k = 0; k < kNumCodebooks; ++k) {
      const Tensor got = guided.slice(k, k + 1);
      const Tensor want = g.guided_logits.reshape({frames * kNumCodebooks, vocab}).slice(t * kNumCodebooks + k,
                                                                                         t * kNumCodebooks + k + 1);
      worst = std::max(worst, test::normalised_error(got, want));
    }
  }
  std::cout << c.name << " " << p.name << ": worst normalised logit error " << worst << "\n";
  RecordProperty("worst_normalised_logit_error", std::to_string(worst));
  EXPECT_LE(worst, p.tolerance);
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

INSTANTIATE_TEST_SUITE_P(Golden, MulaCuda,
                         ::testing::Combine(::testing::ValuesIn(test::lm_cases()), ::testing::ValuesIn(kPrecisions)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" + std::get<1>(info.param).name;
                         });

}  // namespace
}  // namespace hs
