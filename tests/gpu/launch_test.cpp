// Overlapped kernel launches (kernels/launch.cuh) keep every kernel's reads after the previous
// kernel's writes: a chain of in-place adds over a 16 MB buffer, each kernel reading what the one
// before it wrote, eagerly and replayed from a CUDA Graph, with overlapped launches on and off. A
// kernel that started reading before its predecessor finished would lose increments.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <vector>

#include "kernels/add.cuh"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

constexpr std::int64_t kValues = std::int64_t{1} << 22;
constexpr int kChain = 64;

class OverlappedLaunch : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    HS_REQUIRE_GPU();
    kernels::set_overlapped_launches(GetParam());
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaMalloc(&x_, kValues * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&one_, kValues * sizeof(float)));
    const std::vector<float> ones(kValues, 1.0f);
    CUDA_CHECK(cudaMemcpy(one_, ones.data(), kValues * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(x_, 0, kValues * sizeof(float)));
  }
  void TearDown() override {
    kernels::set_overlapped_launches(true);
    if (stream_) cudaStreamDestroy(stream_);
    cudaFree(x_);
    cudaFree(one_);
  }
  void add_chain() {
    for (int i = 0; i < kChain; ++i) kernels::add({x_, one_, x_, kValues, kernels::ElementType::F32}, stream_);
  }
  // Values of x that are not `expected`.
  std::int64_t wrong_values(float expected) {
    std::vector<float> host(kValues);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    CUDA_CHECK(cudaMemcpy(host.data(), x_, kValues * sizeof(float), cudaMemcpyDeviceToHost));
    std::int64_t wrong = 0;
    for (const float v : host) wrong += v != expected;
    return wrong;
  }

  cudaStream_t stream_ = nullptr;
  float* x_ = nullptr;
  float* one_ = nullptr;
};

TEST_P(OverlappedLaunch, EachKernelSeesThePreviousKernelsWrites) {
  add_chain();
  EXPECT_EQ(wrong_values(kChain), 0);

  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  add_chain();
  CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  constexpr int kReplays = 4;
  for (int r = 0; r < kReplays; ++r) CUDA_CHECK(cudaGraphLaunch(exec, stream_));
  EXPECT_EQ(wrong_values(kChain * (1 + kReplays)), 0);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

INSTANTIATE_TEST_SUITE_P(OnAndOff, OverlappedLaunch, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Overlapped" : "Serialized"; });

}  // namespace
}  // namespace hs
