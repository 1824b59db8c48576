// HeartMuLa on the CPU backend against the reference's goldens (golden/mula_cfg, mula_nocfg):
// teacher-forced guided logits within 1e-4 (normalised) for every frame and codebook, and greedy
// decoding reproducing the golden frames exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "engine/core/error.h"
#include "engine/model/lm/mula_session.h"
#include "tests/lm/golden_case.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

using test::LmCaseInfo;

constexpr double kLogitTolerance = 1e-4;  // max|a − b| / max|b| (golden/README.md)

class MulaParity : public ::testing::TestWithParam<LmCaseInfo> {};

TEST_P(MulaParity, TeacherForcedGuidedLogits) {
  const LmCaseInfo& c = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = test::tiny_model(case_file.parent_path());
  const test::LmGolden g = test::load_lm_golden(case_file);
  const std::int64_t frames = g.frames.dim(1), vocab = model->audio_vocab();
  ASSERT_EQ(frames, c.frames);
  MulaSession session(*model, g.prompt, {{.temperature = 1.0f, .topk = 1, .cfg_scale = c.cfg_scale}, 0, frames});
  double worst = 0.0;
  for (std::int64_t t = 0; t < frames; ++t) {
    const Frame forced = test::golden_frame(g.frames, t);
    Tensor guided;
    ASSERT_TRUE(session.step({.forced = &forced, .guided_logits = &guided}).has_value());
    ASSERT_EQ(guided.shape(), (Shape{kNumCodebooks, vocab}));
    for (std::int64_t k = 0; k < kNumCodebooks; ++k) {
      const float* got = guided.data<float>() + k * vocab;
      const float* want = g.guided_logits.data<float>() + (t * kNumCodebooks + k) * vocab;
      double num = 0, den = 0;
      for (std::int64_t v = 0; v < vocab; ++v) {
        num = std::max(num, double{std::abs(got[v] - want[v])});
        den = std::max(den, double{std::abs(want[v])});
      }
      worst = std::max(worst, num / den);
      ASSERT_LE(num / den, kLogitTolerance) << c.name << " frame " << t << " codebook " << k;
    }
  }
  RecordProperty("worst_relative_logit_error", std::to_string(worst));
  std::cout << c.name << ": worst relative logit error " << worst << "\n";
}

TEST_P(MulaParity, GreedySessionReproducesFrames) {
  const LmCaseInfo& c = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = test::tiny_model(case_file.parent_path());
  const test::LmGolden g = test::load_lm_golden(case_file);
  const std::int64_t frames = g.frames.dim(1);
  MulaSession session(*model, g.prompt, {{.temperature = 1.0f, .topk = 1, .cfg_scale = c.cfg_scale}, 7, frames});
  EXPECT_EQ(session.cfg(), c.cfg_scale != 1.0f);
  for (std::int64_t t = 0; t < frames; ++t) {
    const auto frame = session.step();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(*frame, test::golden_frame(g.frames, t)) << c.name << " frame " << t;
  }
  EXPECT_THROW(session.step(), InvalidArgument) << "max_frames reached";
}

INSTANTIATE_TEST_SUITE_P(Golden, MulaParity, ::testing::ValuesIn(test::lm_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace hs
