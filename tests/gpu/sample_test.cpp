// Device sampling against the CPU backend: the same token for every (seed, counter), CFG combine,
// temperature, top-k and greedy; the counter advances on the device. The GPU keeps its own copy
// of the Philox function (kernels/common.cuh), so equal draws also check the two copies agree.
#include <gtest/gtest.h>

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

INSTANTIATE_TEST_SUITE_P(Activations, CudaSample, ::testing::Values(DType::F32, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace hs
