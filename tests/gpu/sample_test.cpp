// Device sampling against the CPU backend: the same token for every (seed, counter), CFG combine,
// temperature, top-k and greedy; the counter advances on the device. The GPU keeps its own copy
// of the Philox function (kernels/common.cuh), so equal draws also check the two copies agree.
// The stress cases aim at the device's top-k select and argmaxes: ties at the threshold and at the
// maximum, all values equal, logits that share their top bits, odd and extreme vocabulary sizes.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "engine/cpu/cpu_backend.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

constexpr std::int64_t kVocab = 8197;
constexpr int kDraws = 64;

struct SampleCase {
  const char* name;
  std::int64_t rows;
  SamplingParams params;
};

class CudaSample : public ::testing::TestWithParam<DType> {};

TEST_P(CudaSample, SameTokensAsCpu) {
  HS_REQUIRE_GPU();
  const DType act = GetParam();
  CudaBackend& gpu = test::cuda_backend(act);
  CpuBackend cpu;
  std::mt19937 gen(5);
  const std::vector<SampleCase> cases{
      {"cfg_top50", 2, {.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f}},
      {"cfg_top1", 2, {.temperature = 1.0f, .topk = 1, .cfg_scale = 3.0f}},
      {"hot_full_vocab", 1, {.temperature = 1.3f, .topk = static_cast<int>(kVocab) + 5, .cfg_scale = 1.0f}},
      {"cold_top7", 1, {.temperature = 0.2f, .topk = 7, .cfg_scale = 1.0f}},
      {"greedy", 2, {.temperature = 0.0f, .topk = 50, .cfg_scale = 1.5f}},
      {"blocked_most", 2, {.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f, .blocked_begin = 10, .blocked_end = 8190}},
      {"greedy_blocked", 1, {.temperature = 0.0f, .topk = 50, .cfg_scale = 1.0f, .blocked_begin = 0, .blocked_end = 8000}},
  };
  for (const SampleCase& c : cases) {
    const Tensor logits = test::random_tensor({c.rows, kVocab}, gen, act, 3.0f);
    const Tensor glogits = gpu.upload(logits);
    Tensor cpu_rng = Tensor::zeros({2}, DType::I64);
    cpu_rng.data<std::int64_t>()[0] = 0x1234567890ll;
    Tensor gpu_rng = gpu.upload(cpu_rng);
    Tensor cpu_token = Tensor::zeros({1}, DType::I32), gpu_token = gpu.alloc({1}, DType::I32);
    Tensor cpu_guided = Tensor::zeros({kVocab}, DType::F32), gpu_guided = gpu.alloc({kVocab}, act);
    int distinct = 0, last = -1;
    for (int draw = 0; draw < kDraws; ++draw) {
      cpu.sample(logits, c.params, cpu_rng, cpu_token, &cpu_guided);
      gpu.sample(glogits, c.params, gpu_rng, gpu_token, &gpu_guided);
      const int want = cpu_token.data<std::int32_t>()[0];
      ASSERT_EQ(gpu.download(gpu_token).data<std::int32_t>()[0], want) << c.name << " draw " << draw;
      ASSERT_TRUE(want < c.params.blocked_begin || want >= c.params.blocked_end) << c.name << " drew blocked " << want;
      distinct += want != last;
      last = want;
    }
    EXPECT_EQ(gpu.download(gpu_rng).data<std::int64_t>()[1], kDraws) << c.name;
    EXPECT_LE(test::normalised_error(gpu.download(gpu_guided), cpu_guided), test::tolerance(act)) << c.name;
    if (c.params.temperature >= 1.0f && c.params.topk > 1) {  // a cold draw may always pick the top
      EXPECT_GT(distinct, 1) << c.name << " never varied";
    }
  }
}

// Draws `draws` tokens on both backends from the same logits and counters; every one must agree.
void expect_same_draws(CudaBackend& gpu, DType act, const char* name, const Tensor& logits,
                       const SamplingParams& params, int draws) {
  CpuBackend cpu;
  const std::int64_t vocab = logits.dim(1);
  const Tensor glogits = gpu.upload(logits);
  Tensor cpu_rng = Tensor::zeros({2}, DType::I64);
  cpu_rng.data<std::int64_t>()[0] = 0x5eed0000abcdll;
  cpu_rng.data<std::int64_t>()[1] = 1000;
  Tensor gpu_rng = gpu.upload(cpu_rng);
  Tensor cpu_token = Tensor::zeros({1}, DType::I32), gpu_token = gpu.alloc({1}, DType::I32);
  Tensor cpu_guided = Tensor::zeros({vocab}, DType::F32), gpu_guided = gpu.alloc({vocab}, act);
  for (int draw = 0; draw < draws; ++draw) {
    cpu.sample(logits, params, cpu_rng, cpu_token, &cpu_guided);
    gpu.sample(glogits, params, gpu_rng, gpu_token, &gpu_guided);
    ASSERT_EQ(gpu.download(gpu_token).data<std::int32_t>()[0], cpu_token.data<std::int32_t>()[0])
        << name << " draw " << draw;
  }
  EXPECT_EQ(gpu.download(gpu_rng).data<std::int64_t>()[1], 1000 + draws) << name;
  EXPECT_LE(test::normalised_error(gpu.download(gpu_guided), cpu_guided), test::tolerance(act)) << name;
}

struct StressCase {
  const char* name;
  std::int64_t rows, vocab;
  SamplingParams params;
  std::function<float(std::mt19937&)> logit;  // one value, before rounding to the device precision
};

TEST_P(CudaSample, SameTokensAsCpuOnHardInputs) {
  HS_REQUIRE_GPU();
  const DType act = GetParam();
  CudaBackend& gpu = test::cuda_backend(act);
  std::mt19937 gen(11);
  const auto normal = [](float scale) {
    return [scale](std::mt19937& g) { return std::normal_distribution<float>(0.0f, scale)(g); };
  };
  const auto small_ints = [](int lo, int hi) {  // many equal values: ties at the threshold and the max
    return [lo, hi](std::mt19937& g) { return static_cast<float>(std::uniform_int_distribution<int>(lo, hi)(g)); };
  };
  const auto narrow = [](float base) {  // within 1e-3: every value shares its top bits
    return [base](std::mt19937& g) { return base + std::uniform_real_distribution<float>(0.0f, 1e-3f)(g); };
  };
  const auto signed_zeros = [](std::mt19937& g) {  // ±0 among small values of both signs
    const int pick = std::uniform_int_distribution<int>(0, 3)(g);
    return pick == 0 ? 0.0f : pick == 1 ? -0.0f : std::uniform_real_distribution<float>(-5.0f, 5.0f)(g);
  };
  const SamplingParams top50{.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f};
  const std::vector<StressCase> cases{
      {"ties_cfg", 2, kVocab, top50, small_ints(-3, 3)},
      {"ties_top3", 1, kVocab, {.temperature = 1.0f, .topk = 3, .cfg_scale = 1.0f}, small_ints(0, 1)},
      {"all_equal", 1, kVocab, top50, [](std::mt19937&) { return 0.75f; }},
      {"all_equal_cfg", 2, 1000, top50, [](std::mt19937&) { return -2.0f; }},
      {"top1", 2, kVocab, {.temperature = 1.0f, .topk = 1, .cfg_scale = 1.5f}, normal(3.0f)},
      {"topk_over_vocab", 1, 3000, {.temperature = 0.7f, .topk = 3003, .cfg_scale = 1.0f}, normal(2.0f)},
      {"topk_equals_vocab", 2, 777, {.temperature = 1.0f, .topk = 777, .cfg_scale = 1.5f}, normal(2.0f)},
      {"odd_vocab", 2, 1500, top50, normal(3.0f)},
      {"vocab_1", 2, 1, top50, normal(3.0f)},
      {"vocab_2", 1, 2, {.temperature = 2.0f, .topk = 2, .cfg_scale = 1.0f}, normal(1.0f)},
      {"vocab_11000", 1, 11000, top50, normal(3.0f)},
      {"signed", 2, kVocab, top50, signed_zeros},
      {"negative", 1, kVocab, {.temperature = 0.5f, .topk = 20, .cfg_scale = 1.0f},
       [](std::mt19937& g) { return std::uniform_real_distribution<float>(-40.0f, -30.0f)(g); }},
      {"narrow", 1, kVocab, top50, narrow(2.5f)},
      {"narrow_cfg", 2, kVocab, top50, narrow(-1.0f)},
      {"narrow_wide_topk", 1, kVocab, {.temperature = 1.0f, .topk = 2000, .cfg_scale = 1.0f}, narrow(7.0f)},
      {"tiny", 1, kVocab, top50, [](std::mt19937& g) { return 1e-30f * std::normal_distribution<float>()(g); }},
  };
  for (const StressCase& c : cases) {
    Tensor logits = Tensor::zeros({c.rows, c.vocab}, DType::F32);
    for (std::int64_t i = 0; i < logits.numel(); ++i) logits.data<float>()[i] = c.logit(gen);
    logits = test::round_to(logits, act);
    expect_same_draws(gpu, act, c.name, logits, c.params, 16);
  }
}

TEST_P(CudaSample, SameTokensAsCpuWithTiesAtTheMax) {
  HS_REQUIRE_GPU();
  const DType act = GetParam();
  CudaBackend& gpu = test::cuda_backend(act);
  std::mt19937 gen(12);
  // The maximum repeats (the argmax is its first index) and the 50th value repeats past the 50th.
  Tensor logits = test::random_tensor({1, kVocab}, gen, act, 1.0f);
  for (std::int64_t i : {4000, 17, 8196, 2048, 1023, 1024}) logits.data<float>()[i] = 8.0f;
  for (std::int64_t i = 100; i < kVocab; i += 97) logits.data<float>()[i] = 4.0f;
  expect_same_draws(gpu, act, "max_ties", logits, {.temperature = 1.0f, .topk = 50, .cfg_scale = 1.0f}, 32);
  expect_same_draws(gpu, act, "max_ties_greedy", logits, {.temperature = 0.0f, .topk = 50, .cfg_scale = 1.0f}, 2);
}

INSTANTIATE_TEST_SUITE_P(Activations, CudaSample, ::testing::Values(DType::F32, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace hs
