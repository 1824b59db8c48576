// CudaBackendOptions::sm_count: a backend on a share of the GPU's SMs (a green context) computes
// what a whole-GPU backend does, says how many SMs it holds, and refuses a share the GPU lacks.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "engine/cpu/cpu_backend.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

constexpr int kShare = 16;  // two of Hopper's 8-SM granules; any GPU of the tests has more

TEST(CudaSmPartition, LinearOnAShareMatchesTheCpu) {
  HS_REQUIRE_GPU();
  CudaBackend part({.activations = DType::BF16, .sm_count = kShare});
  const std::string details = part.details();  // "..., on 16 of 132 SMs"
  const std::size_t at = details.find(", on ");
  ASSERT_NE(at, std::string::npos) << details;
  std::size_t used = 0;
  const int held = std::stoi(details.substr(at + 5), &used);
  const int of = std::stoi(details.substr(at + 5 + used + 4));
  EXPECT_GE(held, kShare) << details;
  EXPECT_LT(held, of) << details;
  CpuBackend cpu;
  std::mt19937 gen(5);
  const Tensor x = test::random_tensor({300, 512}, gen, DType::BF16);  // a cuBLASLt GEMM, then the epilogue
  const Tensor w = test::random_tensor({768, 512}, gen, DType::BF16, 0.05f);
  Tensor want = Tensor::zeros({300, 768}, DType::F32);
  cpu.linear(x, cpu.load_linear(w, nullptr, Precision::F32), want);
  Tensor out = part.alloc({300, 768}, DType::BF16);
  part.linear(part.upload(x), part.load_linear(w, nullptr, Precision::BF16), out);
  EXPECT_LE(test::normalised_error(part.download(out), want), test::tolerance(DType::BF16) * 10);
}

TEST(CudaSmPartition, RefusesAShareTheGpuLacks) {
  HS_REQUIRE_GPU();
  try {
    CudaBackend part({.sm_count = 100000});
    FAIL() << "a 100000-SM partition was created";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("a partition of 100000 SMs: the GPU has "), std::string::npos) << e.what();
  }
  EXPECT_THROW(CudaBackend({.sm_count = -1}), InvalidArgument);
}

}  // namespace
}  // namespace hs
