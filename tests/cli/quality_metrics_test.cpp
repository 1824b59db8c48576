// The measures `heartstream quality` reports, on inputs whose answers are known by hand: logits
// (normalised error, top-k KL, agreements; blocked ids left out) and audio (SNR, relative L2,
// log-mel distance of a signal scaled by a known factor).
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "clients/cli/quality/audio_quality.h"
#include "engine/pipeline/logit_metrics.h"

namespace hs {
namespace {

constexpr double kTight = 1e-12;

TEST(LogitMetrics, IdenticalLogitsMeasureNothing) {
  const std::vector<float> logits{0.5f, -1.0f, 2.0f, 0.25f};
  const LogitComparison c = compare_logits(logits, logits, {.temperature = 0.7f, .topk = 2});
  EXPECT_EQ(c.error_sq, 0.0);
  EXPECT_EQ(c.kl, 0.0);
  EXPECT_TRUE(c.top1_agrees);
  EXPECT_EQ(c.topk_overlap, 1.0);
}

TEST(LogitMetrics, KlIsTheTopKDistributionsDivergence) {
  // Reference top-2 {ln 3, 0} → p = {3/4, 1/4}; test {0, 0} on those ids → q = {1/2, 1/2}.
  const std::vector<float> reference{static_cast<float>(std::log(3.0)), 0.0f, -5.0f};
  const std::vector<float> test{0.0f, 0.0f, 4.0f};
  const LogitComparison c = compare_logits(test, reference, {.temperature = 1.0f, .topk = 2});
  const double p0 = 0.75, p1 = 0.25;
  EXPECT_NEAR(c.kl, p0 * std::log(p0 / 0.5) + p1 * std::log(p1 / 0.5), 1e-6);
  EXPECT_FALSE(c.top1_agrees);           // the test's largest is id 2
  EXPECT_DOUBLE_EQ(c.topk_overlap, 0.5);  // {2, 0} against {0, 1}
  EXPECT_NEAR(c.error_sq, std::log(3.0) * std::log(3.0) + 81.0, 1e-5);
}

TEST(LogitMetrics, BlockedIdsAreLeftOutOfTheSamplingMeasures) {
  const std::vector<float> reference{0.0f, 10.0f, 1.0f}, test{0.0f, -10.0f, 1.0f};
  const SamplingParams blocked{.temperature = 1.0f, .topk = 2, .blocked_begin = 1, .blocked_end = 2};
  const LogitComparison c = compare_logits(test, reference, blocked);
  EXPECT_EQ(c.kl, 0.0);
  EXPECT_TRUE(c.top1_agrees);
  EXPECT_EQ(c.topk_overlap, 1.0);
  EXPECT_GT(c.error_sq, 0.0);  // the raw logits still differ
  EXPECT_GT(compare_logits(test, reference, {.temperature = 1.0f, .topk = 2}).kl, 0.0);
}

TEST(LogitMetrics, MismatchedLengthsAreRefused) {
  const std::vector<float> a{1.0f, 2.0f}, b{1.0f};
  EXPECT_THROW(compare_logits(a, b, {}), InvalidArgument);
}

TEST(AudioQuality, ScaledSignalHasTheScalesSnrAndMelDistance) {
  constexpr double kRateHz = 48000, kScale = 1.1;
  constexpr std::int64_t kSamples = 9600;
  // Gaussian noise: power in every mel band, far above the floor.
  std::mt19937 rng(7);
  std::normal_distribution<double> gauss(0.0, 0.25);
  Tensor reference = Tensor::zeros({2, kSamples}, DType::F32), test = Tensor::zeros({2, kSamples}, DType::F32);
  for (std::int64_t i = 0; i < 2 * kSamples; ++i) {
    const double x = gauss(rng);
    reference.data<float>()[i] = static_cast<float>(x);
    test.data<float>()[i] = static_cast<float>(kScale * x);
  }
  const cli::AudioDistance d = cli::audio_distance(test, reference, kRateHz);
  ASSERT_TRUE(d.snr_db.has_value());
  EXPECT_NEAR(*d.snr_db, 20.0, 1e-4);  // error 0.1 of the signal
  EXPECT_NEAR(d.relative_l2, 0.1, 1e-6);
  // Every band's power is 1.21 times the reference's.
  EXPECT_NEAR(d.log_mel_distance_db, 20.0 * std::log10(kScale), 1e-3);
  const cli::AudioDistance same = cli::audio_distance(reference, reference, kRateHz);
  EXPECT_FALSE(same.snr_db.has_value());
  EXPECT_NEAR(same.log_mel_distance_db, 0.0, kTight);
}

TEST(AudioQuality, DifferentShapesAreRefused) {
  const Tensor a = Tensor::zeros({2, 4096}, DType::F32), b = Tensor::zeros({2, 4095}, DType::F32);
  EXPECT_THROW(cli::audio_distance(a, b, 48000), InvalidArgument);
}

}  // namespace
}  // namespace hs
