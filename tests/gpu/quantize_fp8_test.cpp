// kernels/quantize_fp8 (the per-row fp8 quantization the CUDA backend still runs on prefill
// activations) against the host quantizer every fp8 weight comes from (engine/core/fp8_quantize.h):
// the same fp32 or bf16 rows give the same E4M3 bytes and scales, bit for bit — zero rows, −0,
// ties and the saturating max included. And widen_fp8 (the portable GEMM path's fp8 → bf16) against
// the host's E4M3 decoding.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/core/fp8_quantize.h"
#include "kernels/quantize_fp8.cuh"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

// Rows of varied magnitude (2^-24 .. 2^15), an all-zero row, a −0 row and a scale-1 row of ties.
Tensor test_rows(std::int64_t rows, std::int64_t cols, DType dtype) {
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor t = Tensor::zeros({rows, cols}, DType::F32);
  float* p = t.data<float>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) p[r * cols + c] = normal(gen) * std::ldexp(1.0f, static_cast<int>(r % 40) - 24);
  std::fill_n(p + 1 * cols, cols, 0.0f);
  std::fill_n(p + 2 * cols, cols, -0.0f);
  const float ties[] = {448.0f, 1.0625f, 1.1875f, -1.0625f, std::ldexp(1.0f, -10), 3 * std::ldexp(1.0f, -10)};
  std::fill_n(p + 3 * cols, cols, 0.5f);
  std::copy(std::begin(ties), std::end(ties), p + 3 * cols);
  return test::round_to(t, dtype);
}

// Widths of the scalar kernel (odd, and past the vector kernel's registers) and the vector one
// (the DiT's 1536 and 8192).
TEST(QuantizeFp8Kernel, MatchesTheHostQuantizerBitForBit) {
  HS_REQUIRE_GPU();
  const std::int64_t rows = 67;
  for (const std::int64_t cols : {1031, 1536, 8192, 16400})
  for (const DType dtype : {DType::F32, DType::BF16}) {
    const Tensor values = test_rows(rows, cols, dtype);
    const Tensor x = dtype == DType::BF16 ? values.to_bf16() : values;  // the kernel's input in `dtype`
    void *dx = nullptr, *dq = nullptr, *ds = nullptr;
    ASSERT_EQ(cudaMalloc(&dx, x.bytes()), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&dq, static_cast<std::size_t>(rows * cols)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&ds, static_cast<std::size_t>(rows) * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(dx, x.raw(), x.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
    const auto type = dtype == DType::F32 ? kernels::ElementType::F32 : kernels::ElementType::BF16;
    kernels::quantize_fp8({dx, dq, static_cast<float*>(ds), rows, cols, type}, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<std::uint8_t> q(static_cast<std::size_t>(rows * cols));
    std::vector<float> scales(static_cast<std::size_t>(rows));
    ASSERT_EQ(cudaMemcpy(q.data(), dq, q.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(scales.data(), ds, scales.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    cudaFree(dx);
    cudaFree(dq);
    cudaFree(ds);

    const QuantizedWeight want = quantize_e4m3_rows(x);
    std::int64_t differing = 0;
    for (std::int64_t i = 0; i < rows * cols; ++i) differing += q[i] != want.values.data<std::uint8_t>()[i];
    EXPECT_EQ(differing, 0) << dtype_name(dtype) << " x " << cols << ": E4M3 codes differ";
    EXPECT_EQ(std::memcmp(scales.data(), want.scales.raw(), want.scales.bytes()), 0)
        << dtype_name(dtype) << " x " << cols << ": scales differ";
  }
}

// Every E4M3 code, repeated, from a 16-byte aligned start (the vector loop and the tail) and from an
// odd one (the scalar loop): each bf16 holds exactly e4m3_to_f32 of its code (NaN codes as NaN).
TEST(WidenFp8Kernel, EveryCodeExactlyInBf16) {
  HS_REQUIRE_GPU();
  constexpr std::int64_t kCount = 3 * 256 + 7;
  std::vector<std::uint8_t> codes(kCount + 1);
  for (std::int64_t i = 0; i < kCount + 1; ++i) codes[i] = static_cast<std::uint8_t>((i * 37) % 256);
  void *dq = nullptr, *dout = nullptr;
  ASSERT_EQ(cudaMalloc(&dq, codes.size()), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dout, (kCount + 8) * sizeof(std::uint16_t)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dq, codes.data(), codes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  for (const std::int64_t start : {0, 1}) {
    ASSERT_EQ(cudaMemset(dout, 0xff, (kCount + 8) * sizeof(std::uint16_t)), cudaSuccess);
    kernels::widen_fp8(static_cast<std::uint8_t*>(dq) + start, static_cast<std::uint16_t*>(dout) + start, kCount,
                       nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<std::uint16_t> out(kCount + 8);
    ASSERT_EQ(cudaMemcpy(out.data(), dout, out.size() * sizeof(std::uint16_t), cudaMemcpyDeviceToHost), cudaSuccess);
    std::int64_t differing = 0;
    for (std::int64_t i = 0; i < kCount; ++i) {
      const float want = e4m3_to_f32(codes[start + i]), got = bf16_to_f32(out[start + i]);
      differing += std::isnan(want) ? !std::isnan(got) : std::memcmp(&want, &got, sizeof(float)) != 0;
    }
    EXPECT_EQ(differing, 0) << "start " << start;
    EXPECT_EQ(out[start + kCount], 0xffff) << "wrote past the end";
  }
  cudaFree(dq);
  cudaFree(dout);
}

}  // namespace
}  // namespace hs
