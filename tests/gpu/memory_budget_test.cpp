// Device memory limits: backends sharing a DeviceMemoryBudget refuse an allocation that would pass
// it with OutOfMemory (and hold nothing for it), a request larger than the GPU is OutOfMemory too,
// not a crash, and the backend keeps working after either; a fresh backend holds exactly the
// fixed buffers the planner counts for it.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "engine/backends/backend_factory.h"
#include "engine/core/error.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

constexpr std::size_t kMiB = 1u << 20;

TEST(CudaMemoryBudget, SharedLimitRefusesWhatWouldPassIt) {
  HS_REQUIRE_GPU();
  // The two backends as make_model_backends builds them (their scratch and workspaces).
  const std::size_t fixed = kLmScratchBytes + kCodecScratchBytes + 2 * kGemmWorkspaceBytes;
  auto budget = std::make_shared<DeviceMemoryBudget>(fixed + 56 * kMiB);
  CudaBackend lm(CudaBackendOptions{.scratch_bytes = kLmScratchBytes, .budget = budget});
  EXPECT_EQ(lm.allocated_bytes(), kLmScratchBytes + kGemmWorkspaceBytes)
      << "the planner counts the scratch + the workspace";
  CudaBackend codec(CudaBackendOptions{.scratch_bytes = kCodecScratchBytes, .budget = budget});
  EXPECT_EQ(budget->held(), fixed);
  Tensor a = lm.alloc({static_cast<std::int64_t>(50 * kMiB)}, DType::U8);
  try {
    codec.alloc({static_cast<std::int64_t>(20 * kMiB)}, DType::U8);
    ADD_FAILURE() << "an allocation past the budget succeeded";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("over the budget"), std::string::npos) << e.what();
  }
  EXPECT_EQ(budget->held(), fixed + 50 * kMiB) << "the refused allocation holds nothing";
  a = Tensor();
  Tensor b = codec.alloc({static_cast<std::int64_t>(20 * kMiB)}, DType::U8);
  EXPECT_EQ(budget->held(), fixed + 20 * kMiB);
  EXPECT_EQ(budget->peak(), fixed + 50 * kMiB);
  b = Tensor();
  EXPECT_EQ(budget->held(), fixed);
}

TEST(CudaMemoryBudget, MoreThanTheGpuHoldsIsAClearError) {
  HS_REQUIRE_GPU();
  CudaBackend gpu;
  const std::size_t before = gpu.allocated_bytes();
  try {
    gpu.alloc({std::int64_t{1} << 50}, DType::U8);  // 1 PiB
    ADD_FAILURE() << "a 1 PiB allocation succeeded";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA out of memory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(gpu.allocated_bytes(), before);
  std::mt19937 gen(3);
  const Tensor x = test::random_tensor({4, 8}, gen, DType::F32);
  Tensor sum = gpu.alloc({4, 8}, DType::F32);
  gpu.add(gpu.upload(x), gpu.upload(x), sum);
  const Tensor got = gpu.download(sum);
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(got.data<float>()[i], 2 * x.data<float>()[i]);
}

// Allocations go back to the device's pool in stream order: memory freed while kernels that use it
// are still queued is taken by the next allocation only after them, and still comes zero-filled.
TEST(CudaMemoryBudget, MemoryFreedBehindQueuedWorkComesBackZeroFilled) {
  HS_REQUIRE_GPU();
  CudaBackend gpu;
  std::mt19937 gen(5);
  const std::int64_t n = 1 << 22;  // 16 MiB of fp32: kernels long enough to be still queued
  const Tensor x = gpu.upload(test::random_tensor({n}, gen, DType::F32));
  for (int round = 0; round < 8; ++round) {
    Tensor sum = gpu.alloc({n}, DType::F32);
    for (int i = 0; i < 4; ++i) gpu.add(x, x, sum);  // queued, then sum is dropped
    sum = Tensor();
    Tensor fresh = gpu.alloc({n}, DType::F32);
    const Tensor got = gpu.download(fresh);
    std::int64_t nonzero = 0;
    for (std::int64_t i = 0; i < n; ++i) nonzero += got.data<float>()[i] != 0.0f;
    ASSERT_EQ(nonzero, 0) << "round " << round << ": a fresh allocation held values written after it was made";
  }
}

// A tensor may outlive the backend that made it (a session dropped after its model): freeing it
// then is not an error.
TEST(CudaMemoryBudget, AnAllocationMayOutliveItsBackend) {
  HS_REQUIRE_GPU();
  Tensor kept;
  {
    CudaBackend gpu;
    kept = gpu.alloc({1024}, DType::F32);
    Tensor other = gpu.alloc({1024}, DType::F32);
    gpu.add(other, other, kept);
  }
  kept = Tensor();
  CudaBackend again;
  std::mt19937 gen(9);
  const Tensor x = test::random_tensor({16}, gen, DType::F32);
  Tensor sum = again.alloc({16}, DType::F32);
  again.add(again.upload(x), again.upload(x), sum);
  EXPECT_EQ(again.download(sum).data<float>()[3], 2 * x.data<float>()[3]);
}

}  // namespace
}  // namespace hs
