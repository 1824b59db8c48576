// The tensor-core decode GEMV (fp8 and 4-bit weights) at shapes that take each of its launch
// shapes (kernels/gemv_mma_kernel.cuh: small grids under 512 blocks of 8 features, large grids at
// or above, plain and gated; the model's tiny golden checkpoints never reach a large grid), 1-4 x
// rows, against a float64 host sum over the same weights. 4-bit: any 16 bf16 values (the table
// lookup) and the integers -8..7 with a unit (the integer decode), every code in every nibble of
// random bytes. Weights and bf16 x are exact in the kernel's bf16 products, so only fp32
// accumulation differs (1e-5 of the sum of |products|). A table with a value bf16 cannot hold is
// refused.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/dtype.h"
#include "kernels/cuda_check.h"
#include "kernels/gemv.cuh"
#include "kernels/q4.cuh"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

struct Shape {
  std::int64_t in, out;
  bool gated;
};
// 21 and 30 features: a few blocks; 4100: 513 blocks of 8; 8200 gated: 1025 blocks of 4 + 4.
constexpr Shape kShapes[] = {{3072, 21, false}, {192, 30, true}, {192, 4100, false}, {128, 8200, true}};

struct Inputs {
  Shape shape;
  std::vector<std::uint16_t> x;  // bf16 [4, in]
  std::vector<std::uint8_t> weights;
  std::vector<float> scales;
};

// Weight bytes are random bits under `weight_mask`.
Inputs random_inputs(const Shape& shape, std::size_t weight_bytes, std::uint8_t weight_mask, std::size_t scales,
                     std::mt19937& gen) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> positive(0.25f, 2.0f);
  Inputs c{shape, std::vector<std::uint16_t>(4 * shape.in), std::vector<std::uint8_t>(weight_bytes),
           std::vector<float>(scales)};
  for (auto& v : c.x) v = f32_to_bf16(normal(gen));
  for (auto& b : c.weights) b = static_cast<std::uint8_t>(byte(gen) & weight_mask);
  for (float& s : c.scales) s = positive(gen);
  return c;
}

// The outputs for x rows 0..rows-1 from weight values w(n, k), each with a bound: 1e-5 of the sum
// of |products| (gated: propagated through silu(gate) · up).
template <typename Weight>
void expected(const Inputs& c, std::int64_t rows, Weight w, std::vector<double>& want, std::vector<double>& bound) {
  const auto [in, out, gated] = c.shape;
  std::vector<double> y(rows * out, 0.0), magnitude(rows * out, 0.0);
  for (std::int64_t m = 0; m < rows; ++m)
    for (std::int64_t n = 0; n < out; ++n)
      for (std::int64_t k = 0; k < in; ++k) {
        const double term = w(n, k) * static_cast<double>(bf16_to_f32(c.x[m * in + k]));
        y[m * out + n] += term;
        magnitude[m * out + n] += std::fabs(term);
      }
  if (!gated) {
    want = y;
    bound = magnitude;
  } else {
    const std::int64_t half = out / 2;
    want.assign(rows * half, 0.0);
    bound.assign(rows * half, 0.0);
    for (std::int64_t m = 0; m < rows; ++m)
      for (std::int64_t n = 0; n < half; ++n) {
        const double a = y[m * out + n], b = y[m * out + half + n];
        want[m * half + n] = a / (1.0 + std::exp(-a)) * b;
        bound[m * half + n] =
            1.1 * magnitude[m * out + n] * std::fabs(b) + magnitude[m * out + half + n] * (std::fabs(a) + 1.0);
      }
  }
  for (double& b : bound) b *= 1e-5;
}

template <typename Launch>
void check(const Inputs& c, std::int64_t rows, const std::vector<double>& want, const std::vector<double>& bound,
           Launch launch, const std::string& name) {
  const std::int64_t width = c.shape.gated ? c.shape.out / 2 : c.shape.out;
  float* out = nullptr;
  ASSERT_EQ(cudaMalloc(&out, rows * width * sizeof(float)), cudaSuccess);
  launch(kernels::GemvParams{nullptr, nullptr, nullptr, nullptr, {out}, {width}, rows, c.shape.in, c.shape.out,
                             kernels::ElementType::BF16, kernels::WeightType::FP8, kernels::ElementType::F32, false,
                             c.shape.gated});
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << name;
  std::vector<float> got(rows * width);
  ASSERT_EQ(cudaMemcpy(got.data(), out, got.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(out);
  int wrong = 0;
  for (std::int64_t i = 0; i < rows * width && wrong < 5; ++i)
    if (!(std::fabs(got[i] - want[i]) <= bound[i])) {
      ADD_FAILURE() << name << ", output " << i << ": " << got[i] << " against " << want[i] << " ± " << bound[i];
      ++wrong;
    }
}

std::string label(const char* format, const Shape& s, std::int64_t rows) {
  std::ostringstream out;
  out << format << " " << s.out << "x" << s.in << (s.gated ? " gated, " : ", ") << rows << " rows";
  return out.str();
}

// Every shape at 1-4 x rows: `sizes(shape)` gives the weight bytes and block scales, `value(c, n,
// k)` weight (n, k) as the kernel should read it, `launch(p, scales)` the GEMV.
template <typename Sizes, typename Value, typename Launch>
void check_shapes(const char* format, unsigned seed, std::uint8_t weight_mask, Sizes sizes, Value value,
                  Launch launch) {
  std::mt19937 gen(seed);
  for (const Shape& shape : kShapes) {
    const auto [weight_bytes, scale_count] = sizes(shape);
    const Inputs c = random_inputs(shape, weight_bytes, weight_mask, scale_count, gen);
    std::uint16_t* dx = test::device_copy(c.x);
    std::uint8_t* dw = test::device_copy(c.weights);
    float* ds = test::device_copy(c.scales);
    for (std::int64_t rows = 1; rows <= kernels::kGemvMaxRows; ++rows) {
      std::vector<double> want, bound;
      expected(c, rows, [&](std::int64_t n, std::int64_t k) { return value(c, n, k); }, want, bound);
      check(c, rows, want, bound, [&](kernels::GemvParams p) {
        p.x = dx, p.weight = dw;
        launch(p, ds);
      }, label(format, shape, rows));
    }
    cudaFree(dx);
    cudaFree(dw);
    cudaFree(ds);
  }
}

using Sizes = std::pair<std::size_t, std::size_t>;  // weight bytes, scales

TEST(GemvGrids, Fp8AgainstAHostSum) {
  HS_REQUIRE_GPU();
  check_shapes(
      "fp8", 31, 0xbf /* no E4M3 NaN (0x7f, 0xff) */, [](const Shape& s) { return Sizes(s.out * s.in, s.out); },
      [](const Inputs& c, std::int64_t n, std::int64_t k) {
        return static_cast<double>(e4m3_to_f32(c.weights[n * c.shape.in + k])) * c.scales[n];
      },
      [](kernels::GemvParams p, const float* scales) {
        p.scales = scales;
        kernels::gemv(p, nullptr);
      });
}

// A lookup table of 16 bf16 values spread over 16 octaves, and the integer table with a unit.
std::pair<kernels::Q4Table, kernels::Q4Table> four_bit_tables() {
  std::mt19937 gen(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  kernels::Q4Table lookup{}, integer{};
  for (int code = 0; code < 16; ++code) {
    lookup.values[code] = bf16_to_f32(f32_to_bf16(normal(gen) * std::ldexp(1.0f, code - 8)));
    integer.values[code] = static_cast<float>(code - 8);
  }
  integer.unit = 0.375f;
  return {lookup, integer};
}

TEST(GemvGrids, FourBitLookupAndIntegerAgainstAHostSum) {
  HS_REQUIRE_GPU();
  const auto [lookup, integer] = four_bit_tables();
  const auto blocks = [](const Shape& s) { return s.in / kernels::kQ4BlockValues; };
  for (const auto& [format, table] : {std::pair{"lookup", lookup}, std::pair{"integer", integer}})
    check_shapes(
        format, 32, 0xff, [&](const Shape& s) { return Sizes(s.out * s.in / 2, s.out * blocks(s)); },
        [&](const Inputs& c, std::int64_t n, std::int64_t k) {
          const int code = (c.weights[(n * c.shape.in + k) / 2] >> (4 * (k % 2))) & 0xf;
          return static_cast<double>(table.values[code]) * table.unit *
                 c.scales[n * blocks(c.shape) + k / kernels::kQ4BlockValues];
        },
        [&](kernels::GemvParams p, const float* scales) {
          p.weight_type = kernels::WeightType::BF16;
          kernels::gemv_q4(p, scales, table, nullptr);
        });
}

TEST(GemvGrids, FourBitTableOutsideBf16IsRefused) {
  HS_REQUIRE_GPU();
  kernels::Q4Table wide = four_bit_tables().first;
  wide.values[5] = 0.1f;
  EXPECT_THROW(kernels::gemv_q4({nullptr, nullptr, nullptr, nullptr, {nullptr}, {21}, 1, 192, 21,
                                 kernels::ElementType::BF16, kernels::WeightType::BF16, kernels::ElementType::F32,
                                 false, false},
                                nullptr, wide, nullptr),
               kernels::CudaError);
}

}  // namespace
}  // namespace hs
