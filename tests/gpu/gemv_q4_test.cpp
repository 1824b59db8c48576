// kernels/gemv_q4 against a float64 host sum over the same codes: any 16 bf16 values (the table
// lookup) and the integers -8..7 with a unit (the integer decode), every code in every nibble of
// random bytes, 1-4 x rows, a feature count that is not a whole number of the kernel's 8-feature
// blocks. Weights and bf16 x are exact in the kernel's bf16 products, so only fp32 accumulation
// differs (1e-5 of the sum of |products|). A table with a value bf16 cannot hold is refused.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/core/dtype.h"
#include "kernels/cuda_check.h"
#include "kernels/q4.cuh"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

TEST(GemvQ4Kernel, LookupAndIntegerDecodesAgainstAHostSum) {
  HS_REQUIRE_GPU();
  constexpr std::int64_t kOut = 21, kIn = 192, kBlocks = kIn / kernels::kQ4BlockValues;
  std::mt19937 gen(12);
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> positive(0.25f, 2.0f);
  std::vector<std::uint8_t> codes(kOut * kIn / 2);
  for (auto& c : codes) c = static_cast<std::uint8_t>(byte(gen));
  std::vector<float> scales(kOut * kBlocks), x(4 * kIn);
  for (float& s : scales) s = positive(gen);
  std::vector<std::uint16_t> x_bf16(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x_bf16[i] = f32_to_bf16(normal(gen));
    x[i] = bf16_to_f32(x_bf16[i]);
  }
  kernels::Q4Table lookup{}, integer{};
  for (int c = 0; c < 16; ++c) {
    lookup.values[c] = bf16_to_f32(f32_to_bf16(normal(gen) * std::ldexp(1.0f, c - 8)));
    integer.values[c] = static_cast<float>(c - 8);
  }
  integer.unit = 0.375f;
  std::uint8_t* dcodes = test::device_copy(codes);
  float* dscales = test::device_copy(scales);
  std::uint16_t* dx = test::device_copy(x_bf16);
  float* dout = nullptr;
  ASSERT_EQ(cudaMalloc(&dout, 4 * kOut * sizeof(float)), cudaSuccess);
  for (const auto& [name, table] : {std::pair{"lookup", lookup}, std::pair{"integer", integer}})
    for (std::int64_t rows = 1; rows <= kernels::kGemvMaxRows; ++rows) {
      kernels::gemv_q4({dx, dcodes, nullptr, nullptr, {dout}, {kOut}, rows, kIn, kOut, kernels::ElementType::BF16,
                        kernels::WeightType::BF16, kernels::ElementType::F32, false, false},
                       dscales, table, nullptr);
      std::vector<float> got(rows * kOut);
      ASSERT_EQ(cudaMemcpy(got.data(), dout, got.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
      for (std::int64_t m = 0; m < rows; ++m)
        for (std::int64_t n = 0; n < kOut; ++n) {
          double want = 0.0, magnitude = 0.0;
          for (std::int64_t k = 0; k < kIn; ++k) {
            const int code = (codes[(n * kIn + k) / 2] >> (4 * (k % 2))) & 0xf;
            const double term = static_cast<double>(table.values[code]) * table.unit *
                                scales[n * kBlocks + k / kernels::kQ4BlockValues] * x[m * kIn + k];
            want += term;
            magnitude += std::fabs(term);
          }
          EXPECT_NEAR(got[m * kOut + n], want, 1e-5 * magnitude) << name << ", " << rows << " rows, row " << m
                                                                 << " feature " << n;
        }
    }
  kernels::Q4Table wide = lookup;
  wide.values[5] = 0.1f;
  EXPECT_THROW(kernels::gemv_q4({dx, dcodes, nullptr, nullptr, {dout}, {kOut}, 1, kIn, kOut, kernels::ElementType::BF16,
                                 kernels::WeightType::BF16, kernels::ElementType::F32, false, false},
                                dscales, wide, nullptr),
               kernels::CudaError);
  cudaFree(dcodes);
  cudaFree(dscales);
  cudaFree(dx);
  cudaFree(dout);
}

}  // namespace
}  // namespace hs
