// The sampler: CFG combine, top-k support, temperature limit, seeded determinism, and that the
// draw follows softmax(logits / T) restricted to the top k.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "tests/lm/op_reference.h"

namespace hs {
namespace {

Tensor rng_state(std::int64_t seed, std::int64_t counter = 0) {
  Tensor t = Tensor::zeros({2}, DType::I64);
  t.data<std::int64_t>()[0] = seed;
  t.data<std::int64_t>()[1] = counter;
  return t;
}

std::int32_t draw(CpuBackend& cpu, const Tensor& logits, const SamplingParams& p, Tensor& rng) {
  Tensor token = cpu.alloc({1}, DType::I32);
  cpu.sample(logits, p, rng, token, nullptr);
  return token.data<std::int32_t>()[0];
}

TEST(Sampling, CfgCombineMatchesFormula) {
  CpuBackend cpu;
  std::mt19937 gen(11);
  const std::int64_t V = 300;
  const Tensor logits = test::random_f32({2, V}, gen, 4.0f);
  SamplingParams p{.temperature = 1.0f, .topk = 50, .cfg_scale = 1.7f};
  Tensor rng = rng_state(3), guided = cpu.alloc({V}, DType::F32);
  Tensor token = cpu.alloc({1}, DType::I32);
  cpu.sample(logits, p, rng, token, &guided);
  std::vector<double> want(V);
  for (std::int64_t i = 0; i < V; ++i) {
    const double cond = logits.data<float>()[i], uncond = logits.data<float>()[V + i];
    want[i] = uncond + (cond - uncond) * 1.7;
  }
  EXPECT_LE(test::relative_error(guided.data<float>(), want), 1e-6);
  EXPECT_EQ(rng.data<std::int64_t>()[1], 1) << "the counter advances by one per call";
  // One row: guided is the row itself.
  cpu.sample(logits.slice(0, 1), p, rng, token, &guided);
  for (std::int64_t i = 0; i < V; ++i) ASSERT_EQ(guided.data<float>()[i], logits.data<float>()[i]);
}

TEST(Sampling, TopKNeverLeavesTheTopK) {
  CpuBackend cpu;
  std::mt19937 gen(12);
  constexpr int kTrials = 40, kDraws = 100, kTopK = 7;
  for (int trial = 0; trial < kTrials; ++trial) {
    const Tensor logits = test::random_f32({1, 500}, gen, 2.0f);
    std::vector<float> sorted(logits.data<float>(), logits.data<float>() + 500);
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    Tensor rng = rng_state(trial);
    std::set<std::int32_t> seen;
    for (int d = 0; d < kDraws; ++d) {
      const std::int32_t t = draw(cpu, logits, {.temperature = 3.0f, .topk = kTopK}, rng);
      ASSERT_GE(logits.data<float>()[t], sorted[kTopK - 1]) << "trial " << trial << " draw " << d;
      seen.insert(t);
    }
    EXPECT_GT(seen.size(), 1u) << "a hot temperature must spread draws over the top k";
  }
}

TEST(Sampling, DrawFrequenciesFollowSoftmaxOfTopK) {
  CpuBackend cpu;
  const Tensor logits = Tensor::from_f32({1, 6}, {2.0f, 1.0f, 0.5f, -1.0f, 3.0f, 0.0f});
  const SamplingParams p{.temperature = 1.5f, .topk = 4};
  std::vector<double> prob(6, 0.0);
  double total = 0;
  for (int i : {0, 1, 2, 4}) total += prob[i] = std::exp(logits.data<float>()[i] / 1.5);
  for (auto& x : prob) x /= total;
  constexpr int kDraws = 40000;
  std::vector<int> count(6, 0);
  Tensor rng = rng_state(99);
  for (int d = 0; d < kDraws; ++d) ++count[draw(cpu, logits, p, rng)];
  for (int i = 0; i < 6; ++i) {
    const double expected = prob[i] * kDraws, sigma = std::sqrt(kDraws * prob[i] * (1 - prob[i]));
    EXPECT_LE(std::abs(count[i] - expected), 5 * sigma + 1e-9) << "token " << i;
  }
}

TEST(Sampling, ColdTemperatureAndTopOneAreGreedy) {
  CpuBackend cpu;
  std::mt19937 gen(13);
  for (int trial = 0; trial < 50; ++trial) {
    const Tensor logits = test::random_f32({2, 257}, gen, 3.0f);
    Tensor rng = rng_state(trial);
    const std::int32_t greedy = draw(cpu, logits, {.temperature = 0.0f, .topk = 50, .cfg_scale = 1.5f}, rng);
    EXPECT_EQ(draw(cpu, logits, {.temperature = 1e-6f, .topk = 50, .cfg_scale = 1.5f}, rng), greedy);
    EXPECT_EQ(draw(cpu, logits, {.temperature = 1.0f, .topk = 1, .cfg_scale = 1.5f}, rng), greedy);
    std::vector<float> g(257);
    for (int i = 0; i < 257; ++i)
      g[i] = logits.data<float>()[257 + i] + (logits.data<float>()[i] - logits.data<float>()[257 + i]) * 1.5f;
    EXPECT_EQ(greedy, std::max_element(g.begin(), g.end()) - g.begin());
  }
}

TEST(Sampling, SameSeedSameTokensDifferentSeedDiffers) {
  CpuBackend cpu;
  std::mt19937 gen(14);
  const Tensor logits = test::random_f32({1, 1000}, gen, 0.5f);
  const SamplingParams p{.temperature = 1.0f, .topk = 200};
  auto run = [&](std::int64_t seed) {
    Tensor rng = rng_state(seed);
    std::vector<std::int32_t> out;
    for (int i = 0; i < 32; ++i) out.push_back(draw(cpu, logits, p, rng));
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Sampling, BlockedIdsAreNeverDrawn) {
  CpuBackend cpu;
  std::mt19937 gen(14);
  constexpr std::int32_t kBegin = 40, kEnd = 45;
  Tensor logits = test::random_f32({2, 300}, gen, 1.0f);
  for (std::int64_t row = 0; row < 2; ++row)
    for (std::int32_t i = kBegin; i < kEnd; ++i) logits.data<float>()[row * 300 + i] += 20.0f;  // the favourites
  Tensor rng = rng_state(9);
  const SamplingParams open{.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f};
  const std::int32_t t = draw(cpu, logits, open, rng);
  ASSERT_TRUE(t >= kBegin && t < kEnd) << "unblocked, the favourites win";
  SamplingParams blocked = open;
  blocked.blocked_begin = kBegin;
  blocked.blocked_end = kEnd;
  for (int d = 0; d < 200; ++d) {
    const std::int32_t u = draw(cpu, logits, blocked, rng);
    ASSERT_TRUE(u < kBegin || u >= kEnd) << "draw " << d << " took blocked id " << u;
  }
  blocked.temperature = 0.0f;  // greedy
  const std::int32_t g = draw(cpu, logits, blocked, rng);
  EXPECT_TRUE(g < kBegin || g >= kEnd) << g;
}

TEST(Sampling, RejectsBadArguments) {
  CpuBackend cpu;
  Tensor rng = rng_state(0), token = cpu.alloc({1}, DType::I32);
  const Tensor three_rows = cpu.alloc({3, 10}, DType::F32);
  EXPECT_THROW(cpu.sample(three_rows, {}, rng, token, nullptr), InvalidArgument);
  const Tensor one_row = cpu.alloc({1, 10}, DType::F32);
  EXPECT_THROW(cpu.sample(one_row, {.topk = 0}, rng, token, nullptr), InvalidArgument);
  Tensor short_guided = cpu.alloc({9}, DType::F32);
  EXPECT_THROW(cpu.sample(one_row, {}, rng, token, &short_guided), InvalidArgument);
}

}  // namespace
}  // namespace hs
