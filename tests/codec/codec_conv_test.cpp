// CPU codec convolutions against double-precision loops, including the tiled paths.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "tests/codec/codec_test_util.h"

namespace hs {
namespace {

using test::max_error;
using test::random_tensor;

constexpr double kTolerance = 2e-6;  // fp32 GEMM sums against float64 loops, normalised

std::vector<double> conv1d_reference(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv1dParams& p,
                                     std::int64_t out_len) {
  const auto B = x.dim(0), C = x.dim(1), T = x.dim(2), O = w.dim(0), K = w.dim(2);
  std::vector<double> y(static_cast<std::size_t>(B * O * out_len));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t t = 0; t < out_len; ++t) {
        double acc = bias ? bias->data<float>()[o] : 0.0;
        for (std::int64_t c = 0; c < C; ++c)
          for (std::int64_t k = 0; k < K; ++k) {
            const std::int64_t i = t * p.stride + k * p.dilation - p.pad_left;
            if (i >= 0 && i < T) acc += double{w.data<float>()[(o * C + c) * K + k]} * x.data<float>()[(b * C + c) * T + i];
          }
        y[static_cast<std::size_t>((b * O + o) * out_len + t)] = acc;
      }
  return y;
}

std::vector<double> conv_transpose_reference(const Tensor& x, const Tensor& w, const Tensor* bias, std::int64_t stride,
                                             std::int64_t skip, std::int64_t out_len) {
  const auto B = x.dim(0), C = x.dim(1), T = x.dim(2), O = w.dim(1), K = w.dim(2);
  std::vector<double> y(static_cast<std::size_t>(B * O * out_len));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t o = 0; o < O; ++o) {
      for (std::int64_t j = 0; j < out_len; ++j) y[static_cast<std::size_t>((b * O + o) * out_len + j)] = bias ? bias->data<float>()[o] : 0.0;
      for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t t = 0; t < T; ++t)
          for (std::int64_t k = 0; k < K; ++k) {
            const std::int64_t j = t * stride + k - skip;
            if (j >= 0 && j < out_len)
              y[static_cast<std::size_t>((b * O + o) * out_len + j)] +=
                  double{w.data<float>()[(c * O + o) * K + k]} * x.data<float>()[(b * C + c) * T + t];
          }
    }
  return y;
}

struct ConvCase {
  std::int64_t batch, cin, cout, kernel, len;
  Conv1dParams params;
  bool with_bias;
};

class Conv1dTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv1dTest, MatchesDoubleLoop) {
  const ConvCase c = GetParam();
  CpuBackend cpu;
  std::mt19937 gen(static_cast<unsigned>(c.cin * 131 + c.kernel));
  const Tensor x = random_tensor({c.batch, c.cin, c.len}, gen);
  const Tensor w = random_tensor({c.cout, c.cin, c.kernel}, gen, 0.3f);
  const Tensor bias = random_tensor({c.cout}, gen);
  const auto& p = c.params;
  const std::int64_t out_len = (c.len + p.pad_left + p.pad_right - p.dilation * (c.kernel - 1) - 1) / p.stride + 1;
  Tensor out = cpu.alloc({c.batch, c.cout, out_len}, DType::F32);
  cpu.conv1d(x, w, c.with_bias ? &bias : nullptr, p, out);
  EXPECT_LE(max_error(out, conv1d_reference(x, w, c.with_bias ? &bias : nullptr, p, out_len)), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv1dTest,
    ::testing::Values(ConvCase{2, 3, 5, 4, 37, {.stride = 2, .dilation = 3, .pad_left = 4, .pad_right = 1}, true},
                      ConvCase{2, 6, 4, 1, 50, {}, false},                                    // direct GEMM path
                      ConvCase{1, 4, 4, 7, 40, {.dilation = 9, .pad_left = 54}, true},        // causal, dilated
                      ConvCase{2, 8, 8, 5, 30, {.pad_left = 2, .pad_right = 2}, true},        // 'same'
                      ConvCase{1, 512, 4, 3, 800, {.pad_left = 1, .pad_right = 1}, true},     // 3 column tiles
                      ConvCase{1, 3, 2, 3, 5, {.stride = 3, .pad_left = 0, .pad_right = 7}, false}),
    [](const ::testing::TestParamInfo<ConvCase>& info) {
      const ConvCase& c = info.param;
      const Conv1dParams& p = c.params;
      return "b" + std::to_string(c.batch) + "_c" + std::to_string(c.cin) + "to" + std::to_string(c.cout) + "_k" +
             std::to_string(c.kernel) + "_t" + std::to_string(c.len) + "_s" + std::to_string(p.stride) + "_d" +
             std::to_string(p.dilation) + "_pad" + std::to_string(p.pad_left) + "_" + std::to_string(p.pad_right) +
             (c.with_bias ? "_bias" : "");
    });

TEST(CodecConv, Conv1dRejectsBadShapes) {
  CpuBackend cpu;
  const Tensor x = cpu.alloc({1, 3, 10}, DType::F32), w = cpu.alloc({2, 3, 3}, DType::F32);
  Tensor wrong_len = cpu.alloc({1, 2, 10}, DType::F32);
  EXPECT_THROW(cpu.conv1d(x, w, nullptr, {}, wrong_len), InvalidArgument);
  const Tensor wrong_cin = cpu.alloc({2, 4, 3}, DType::F32);
  Tensor out = cpu.alloc({1, 2, 8}, DType::F32);
  EXPECT_THROW(cpu.conv1d(x, wrong_cin, nullptr, {}, out), InvalidArgument);
  EXPECT_THROW(cpu.conv1d(x, w, nullptr, {.stride = 0}, out), InvalidArgument);
}

struct TransposeCase {
  std::int64_t batch, cin, cout, stride, len, skip, out_len;
  bool with_bias;
};

class ConvTranspose1dTest : public ::testing::TestWithParam<TransposeCase> {};

TEST_P(ConvTranspose1dTest, MatchesDoubleLoop) {
  const TransposeCase c = GetParam();
  CpuBackend cpu;
  std::mt19937 gen(static_cast<unsigned>(c.cin * 7 + c.stride));
  const std::int64_t kernel = 2 * c.stride;
  const Tensor x = random_tensor({c.batch, c.cin, c.len}, gen);
  const Tensor w = random_tensor({c.cin, c.cout, kernel}, gen, 0.3f);
  const Tensor bias = random_tensor({c.cout}, gen);
  Tensor out = cpu.alloc({c.batch, c.cout, c.out_len}, DType::F32);
  cpu.conv_transpose1d(x, w, c.with_bias ? &bias : nullptr, c.stride, c.skip, out);
  EXPECT_LE(max_error(out, conv_transpose_reference(x, w, c.with_bias ? &bias : nullptr, c.stride, c.skip, c.out_len)),
            kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvTranspose1dTest,
                         ::testing::Values(TransposeCase{2, 6, 3, 4, 9, 0, 36, true},    // causal trim: first T·s
                                           TransposeCase{2, 6, 3, 4, 9, 4, 32, true},    // a streamed chunk
                                           TransposeCase{1, 5, 2, 3, 7, 2, 22, false},   // up to the full length
                                           TransposeCase{1, 4, 300, 4, 600, 0, 2400, true}),  // 3 tiles
                         [](const ::testing::TestParamInfo<TransposeCase>& info) {
                           const TransposeCase& c = info.param;
                           return "b" + std::to_string(c.batch) + "_c" + std::to_string(c.cin) + "to" +
                                  std::to_string(c.cout) + "_s" + std::to_string(c.stride) + "_t" +
                                  std::to_string(c.len) + "_skip" + std::to_string(c.skip) + "_out" +
                                  std::to_string(c.out_len) + (c.with_bias ? "_bias" : "");
                         });

TEST(CodecConv, ConvTransposeRejectsOutputPastTheFullLength) {
  CpuBackend cpu;
  const Tensor x = cpu.alloc({1, 2, 4}, DType::F32), w = cpu.alloc({2, 3, 6}, DType::F32);
  Tensor out = cpu.alloc({1, 3, 16}, DType::F32);  // full length is 3·3 + 6 = 15
  EXPECT_THROW(cpu.conv_transpose1d(x, w, nullptr, 3, 0, out), InvalidArgument);
  Tensor shifted = cpu.alloc({1, 3, 14}, DType::F32);
  EXPECT_THROW(cpu.conv_transpose1d(x, w, nullptr, 3, 2, shifted), InvalidArgument);
}

}  // namespace
}  // namespace hs
