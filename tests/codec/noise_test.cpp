#include "engine/core/noise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/core/error.h"

namespace hs {
namespace {

TEST(GaussianNoise, IsSeededAndStandardNormal) {
  GaussianNoise a(42), b(42), c(43);
  Tensor x = Tensor::zeros({100001}, DType::F32), y = Tensor::zeros({100001}, DType::F32);
  Tensor z = Tensor::zeros({100001}, DType::F32);
  a.fill(x);
  b.fill(y);
  c.fill(z);
  double sum = 0, sum_sq = 0;
  int differ = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    ASSERT_EQ(x.data<float>()[i], y.data<float>()[i]);
    differ += x.data<float>()[i] != z.data<float>()[i];
    sum += x.data<float>()[i];
    sum_sq += double{x.data<float>()[i]} * x.data<float>()[i];
  }
  const double n = static_cast<double>(x.numel());
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.02);
  EXPECT_GT(differ, 99000);
  // A second draw from the same source continues the stream instead of repeating it.
  a.fill(y);
  EXPECT_NE(x.data<float>()[0], y.data<float>()[0]);
}

// skip passes over a draw as a fill whose values nobody reads would: the next fill is the same.
TEST(GaussianNoise, SkipIsAnUnreadFill) {
  GaussianNoise skipped(7), filled(7);
  Tensor unread = Tensor::zeros({3, 1000}, DType::F32), x = Tensor::zeros({2001}, DType::F32);
  Tensor y = Tensor::zeros({2001}, DType::F32);
  skipped.skip({3, 1000});
  skipped.fill(x);
  filled.fill(unread);
  filled.fill(y);
  for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(x.data<float>()[i], y.data<float>()[i]) << i;
  // Not the stream's first draw either.
  GaussianNoise fresh(7);
  fresh.fill(y);
  EXPECT_NE(x.data<float>()[0], y.data<float>()[0]);
}

TEST(ReplayNoise, SkipConsumesARecordingOfThatShape) {
  ReplayNoise replay({Tensor::from_f32({2}, {1, 2}), Tensor::from_f32({1}, {3}), Tensor::from_f32({1}, {4})});
  replay.skip({2});
  Tensor next = Tensor::zeros({1}, DType::F32);
  replay.fill(next);
  EXPECT_EQ(next.data<float>()[0], 3.0f);
  EXPECT_THROW(replay.skip({2}), InvalidArgument);  // the recording left is [1]
}

TEST(ReplayNoise, ReturnsRecordingsInOrderAndChecksShapes) {
  ReplayNoise replay({Tensor::from_f32({1, 2}, {1, 2}), Tensor::from_f32({3}, {3, 4, 5})});
  Tensor first = Tensor::zeros({1, 2}, DType::F32);
  replay.fill(first);
  EXPECT_EQ(first.data<float>()[1], 2.0f);
  Tensor wrong = Tensor::zeros({1, 3}, DType::F32);
  EXPECT_THROW(replay.fill(wrong), InvalidArgument);
  Tensor second = Tensor::zeros({3}, DType::F32);
  replay.fill(second);
  EXPECT_EQ(second.data<float>()[2], 5.0f);
  EXPECT_EQ(replay.used(), 2u);
  EXPECT_THROW(replay.fill(second), Error);
}

}  // namespace
}  // namespace hs
