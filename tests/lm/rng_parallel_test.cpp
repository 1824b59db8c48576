// Philox4x32-10 known answers and variate ranges; parallel_for coverage and error propagation.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "engine/core/parallel.h"
#include "engine/core/rng.h"

namespace hs {
namespace {

// Random123's kat_vectors for philox4x32 10.
TEST(Philox, KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (PhiloxBlock{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxBlock{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxBlock{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, WordsIndexBlocksAndLanes) {
  const PhiloxBlock block = philox4x32_10({1, 0, 7, 0}, {42, 0});
  for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(philox_word(42, 7, 4 + lane), block[lane]);
  EXPECT_NE(philox_word(42, 7, 0), philox_word(42, 8, 0));
  EXPECT_NE(philox_word(42, 7, 0), philox_word(43, 7, 0));
}

TEST(Philox, ExponentialVariatesArePositiveWithMeanOne) {
  constexpr int kDraws = 200000;
  double sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    const float e = exponential_variate(1234, 5, i);
    ASSERT_GT(e, 0.0f);
    ASSERT_TRUE(std::isfinite(e));
    sum += e;
  }
  EXPECT_NEAR(sum / kDraws, 1.0, 5.0 / std::sqrt(double{kDraws}));  // 5 standard errors
  EXPECT_GT(uniform_open01(0), 0.0f);
  EXPECT_LT(uniform_open01(0xffffffffu), 1.0f);
}

TEST(Parallel, CoversEveryIndexOnce) {
  std::vector<std::atomic<int>> hits(10007);
  parallel_for(10007, 3, [&](std::int64_t b, std::int64_t e) {
    for (auto i = b; i < e; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
    parallel_for(5, 1, [](std::int64_t, std::int64_t) {});  // nested calls run inline
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(Parallel, RethrowsTheWorkersException) {
  EXPECT_THROW(parallel_for(1000, 1,
                            [](std::int64_t b, std::int64_t e) {
                              if (b <= 500 && 500 < e) throw std::runtime_error("chunk failed");
                            }),
               std::runtime_error);
  int total = 0;
  parallel_for(1, 1, [&](std::int64_t b, std::int64_t e) { total += static_cast<int>(e - b); });
  EXPECT_EQ(total, 1);
}

// Jobs shorter than a worker's wake-up: workers join some late or not at all, and a job must
// still see each index once and never wait for a worker that did not join it.
TEST(Parallel, ManySmallJobsBackToBack) {
  constexpr int kJobs = 20000;
  constexpr std::int64_t kIndices = 16;
  for (int job = 0; job < kJobs; ++job) {
    std::vector<std::atomic<int>> hits(kIndices);
    parallel_for(kIndices, 1, [&](std::int64_t b, std::int64_t e) {
      for (auto i = b; i < e; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1) << "job " << job;
  }
}

}  // namespace
}  // namespace hs
