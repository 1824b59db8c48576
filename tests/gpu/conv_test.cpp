// The CUDA codec convolutions against the CPU reference, for fp32 weights (fp32 FMA on CUDA cores:
// the fp32 codec's parity path) and bf16 weights (tensor cores), at the scalar decoder's shapes
// (REFERENCE.md "The codec" 5) with T shortened so the CPU stays fast and never a multiple of a
// tile, plus the odd geometries (stride, 'same' and right padding, Cout = 1, Cin·K not a multiple
// of a vector, transposed kernels other than 2·stride, the tap-major kernel's reach) and bad
// arguments.
//
// Tolerances (normalised error, max|gpu − cpu| / max|cpu|). Inputs are rounded to the weight's
// precision on the host, so both sides multiply the same values exactly and differ only in how they
// sum up to Cin·K = 7168 products:
// - F32: both round to nearest in different orders; a length-n sum drifts like 2^-24·√n ≈ 5e-6
//   of its magnitude at n = 7168 (measured on an H200: 2.4e-6 at block1_k7_d1), so 5e-6.
// - BF16: the tensor cores' fp32 accumulation may truncate rather than round, a one-sided drift
//   of up to 2^-23 per 16-product mma step, ≤ (7168 / 16)·2^-23 ≈ 5e-5 in the worst case
//   (measured: 6.8e-6), so 2e-5. A misplaced tap or an x not rounded to bf16 is 1e-3 or more.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "engine/cpu/cpu_backend.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

using test::normalised_error;
using test::random_tensor;

constexpr double kF32Tolerance = 5e-6;
constexpr double kBf16Tolerance = 2e-5;
constexpr std::int64_t kStereo = 2;  // the decoder's batch: two stereo channels

struct ConvShape {
  const char* name;
  std::int64_t batch, cin, cout, kernel, len;
  Conv1dParams geometry;  // stride, dilation, pad_left, pad_right
};

// Causal k7 with dilation d pads 6·d on the left.
constexpr Conv1dParams causal7(std::int64_t dilation) { return {1, dilation, 6 * dilation, 0}; }

const ConvShape kConvShapes[] = {
    {"input_k5_same", kStereo, 128, 2048, 5, 37, {1, 1, 2, 2}},
    {"block1_k7_d1", kStereo, 1024, 1024, 7, 185, causal7(1)},
    {"block1_k1", kStereo, 1024, 1024, 1, 185, {}},
    {"block2_k7_d3", kStereo, 512, 512, 7, 301, causal7(3)},
    {"block3_k7_d5", kStereo, 256, 256, 7, 333, causal7(5)},
    {"block4_k7_d7", kStereo, 128, 128, 7, 1111, causal7(7)},
    {"block4_k1", kStereo, 128, 128, 1, 1111, {}},
    {"block5_k7_d9", kStereo, 64, 64, 7, 3001, causal7(9)},
    {"post_k7", kStereo, 64, 64, 7, 4097, causal7(1)},
    {"output_cout1", kStereo, 64, 1, 7, 4097, causal7(1)},
    {"stride2_pad_right", 3, 96, 80, 4, 257, {2, 1, 1, 2}},
    {"odd_channels", 1, 3, 200, 3, 50, {1, 2, 1, 3}},  // Cin·K = 9: element-wise weight loads
    {"stride3_dilated", kStereo, 40, 130, 5, 97, {3, 2, 4, 1}},
    // The bf16 tap-major kernel's limits: its taps reach 4·14 = 56 columns past a tile (its most;
    // Cout 96 a tile and a half), then 2·30 = 60, which goes to the im2col kernel.
    {"taps_reach_56", kStereo, 64, 96, 5, 300, {1, 14, 56, 0}},
    {"taps_reach_60", 1, 32, 40, 3, 200, {1, 30, 60, 0}},
};

std::int64_t conv_out_len(const ConvShape& s) {
  const Conv1dParams& p = s.geometry;
  return (s.len + p.pad_left + p.pad_right - p.dilation * (s.kernel - 1) - 1) / p.stride + 1;
}

struct TransposeShape {
  const char* name;
  std::int64_t cin, cout, stride, kernel, len, skip, trim;  // out length = full − skip − trim
};

// The decoder's upsamplers (K = 2·stride, causal: the last `stride` outputs dropped), then other
// kernels and a skipped head: K = 7 gives phases of 3 and 2 taps, K = 2 < stride a phase with none.
const TransposeShape kTransposeShapes[] = {
    {"block1_s5", 2048, 1024, 5, 10, 13, 0, 5},
    {"block2_s4", 1024, 512, 4, 8, 37, 0, 4},
    {"block3_s4", 512, 256, 4, 8, 75, 0, 4},
    {"block4_s4", 256, 128, 4, 8, 150, 0, 4},
    {"block5_s3", 128, 64, 3, 6, 301, 0, 3},
    {"skip_and_short", 256, 128, 4, 8, 50, 7, 3},
    {"k7_s3", 64, 48, 3, 7, 40, 2, 1},
    {"k2_s3", 32, 40, 3, 2, 33, 1, 0},
    {"stride1", 48, 24, 1, 3, 29, 1, 1},
};

class CudaConv : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { HS_REQUIRE_GPU(); }
  DType weight_dtype() const { return GetParam(); }
  double tolerance() const { return weight_dtype() == DType::F32 ? kF32Tolerance : kBf16Tolerance; }
  CudaBackend& gpu() const { return test::cuda_backend(DType::F32); }
  // Values exactly representable in the weight dtype, weights scaled ≈ 1/√fan-in like the codec's.
  Tensor input(const Shape& shape) { return random_tensor(shape, gen, weight_dtype()); }
  Tensor weight(const Shape& shape, std::int64_t fan_in) {
    return random_tensor(shape, gen, weight_dtype(), 1.0f / std::sqrt(static_cast<float>(fan_in)));
  }
  Tensor upload_weight(const Tensor& w) { return gpu().upload_exact(weight_dtype() == DType::BF16 ? w.to_bf16() : w); }

  CpuBackend cpu;
  std::mt19937 gen{4321};
};

TEST_P(CudaConv, Conv1dDecoderShapes) {
  bool with_bias = true;
  for (const ConvShape& s : kConvShapes) {
    SCOPED_TRACE(s.name);
    with_bias = !with_bias;  // every other case without a bias
    const std::int64_t out_len = conv_out_len(s);
    const Tensor x = input({s.batch, s.cin, s.len}), w = weight({s.cout, s.cin, s.kernel}, s.cin * s.kernel);
    const Tensor bias = random_tensor({s.cout}, gen, DType::F32);
    Tensor want = Tensor::zeros({s.batch, s.cout, out_len}, DType::F32);
    cpu.conv1d(x, w, with_bias ? &bias : nullptr, s.geometry, want);
    const Tensor gbias = gpu().upload_exact(bias);
    Tensor out = gpu().alloc({s.batch, s.cout, out_len}, DType::F32);
    gpu().conv1d(gpu().upload_exact(x), upload_weight(w), with_bias ? &gbias : nullptr, s.geometry, out);
    EXPECT_LE(normalised_error(gpu().download(out), want), tolerance());
  }
}

TEST_P(CudaConv, Conv1dPreluSharedAndPerChannelAlpha) {
  const std::int64_t channels = 512, len = 301;
  const Tensor x = input({kStereo, channels, len}), bias = random_tensor({channels}, gen, DType::F32);
  const Tensor shared = Tensor::from_f32({1}, {0.25f});
  const Tensor per_channel = random_tensor({channels}, gen, DType::F32, 0.3f);
  for (const std::int64_t kernel : {7, 1}) {
    const Tensor w = weight({channels, channels, kernel}, channels * kernel);
    const Conv1dParams geometry = kernel == 7 ? causal7(3) : Conv1dParams{};
    for (const Tensor* alpha : {&shared, &per_channel}) {
      SCOPED_TRACE("kernel " + std::to_string(kernel) + ", alpha " + shape_str(alpha->shape()));
      Tensor want = Tensor::zeros({kStereo, channels, len}, DType::F32);
      cpu.conv1d_prelu(x, w, &bias, *alpha, geometry, want);
      const Tensor gbias = gpu().upload_exact(bias);
      Tensor out = gpu().alloc({kStereo, channels, len}, DType::F32);
      gpu().conv1d_prelu(gpu().upload_exact(x), upload_weight(w), &gbias, gpu().upload_exact(*alpha), geometry, out);
      EXPECT_LE(normalised_error(gpu().download(out), want), tolerance());
    }
  }
}

TEST_P(CudaConv, ConvTranspose1dEveryStride) {
  for (const TransposeShape& s : kTransposeShapes) {
    SCOPED_TRACE(s.name);
    const std::int64_t out_len = (s.len - 1) * s.stride + s.kernel - s.skip - s.trim;
    const Tensor x = input({kStereo, s.cin, s.len}), w = weight({s.cin, s.cout, s.kernel}, s.cin * 2);
    const Tensor bias = random_tensor({s.cout}, gen, DType::F32);
    Tensor want = Tensor::zeros({kStereo, s.cout, out_len}, DType::F32);
    cpu.conv_transpose1d(x, w, &bias, s.stride, s.skip, want);
    const Tensor gbias = gpu().upload_exact(bias);
    Tensor out = gpu().alloc({kStereo, s.cout, out_len}, DType::F32);
    gpu().conv_transpose1d(gpu().upload_exact(x), upload_weight(w), &gbias, s.stride, s.skip, out);
    EXPECT_LE(normalised_error(gpu().download(out), want), tolerance());
  }
}

// The ops allocate nothing and never wait, so they record into a CUDA Graph whose replay gives the
// direct run's results bit for bit.
TEST_P(CudaConv, CapturedInAGraph) {
  const std::int64_t channels = 128, len = 203, stride = 4;
  const Tensor x = gpu().upload_exact(input({kStereo, 2 * channels, len}));
  const Tensor up_w = upload_weight(weight({2 * channels, channels, 2 * stride}, 4 * channels));
  const Tensor conv_w = upload_weight(weight({channels, channels, 7}, 7 * channels));
  const Tensor alpha = gpu().upload_exact(Tensor::from_f32({1}, {0.1f}));
  Tensor up = gpu().alloc({kStereo, channels, len * stride}, DType::F32);
  Tensor out = gpu().alloc({kStereo, channels, len * stride}, DType::F32);
  auto record = [&] {
    gpu().conv_transpose1d(x, up_w, nullptr, stride, 0, up);
    gpu().conv1d_prelu(up, conv_w, nullptr, alpha, causal7(3), out);
  };
  record();
  const Tensor direct = gpu().download(out);
  gpu().copy(gpu().alloc(out.shape(), DType::F32), out);
  const std::shared_ptr<OpGraph> graph = gpu().capture(record);
  if (!graph) GTEST_SKIP() << "CUDA Graphs are switched off (HEARTSTREAM_CUDA_GRAPHS=0)";
  gpu().replay(*graph);
  EXPECT_EQ(normalised_error(gpu().download(out), direct), 0.0);
}

INSTANTIATE_TEST_SUITE_P(WeightDtype, CudaConv, ::testing::Values(DType::F32, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(CudaConvArguments, BadArgumentsThrowInvalidArgument) {
  HS_REQUIRE_GPU();
  CudaBackend& gpu = test::cuda_backend(DType::F32);
  const Tensor x = gpu.alloc({2, 8, 20}, DType::F32), w = gpu.alloc({6, 8, 3}, DType::F32);
  const Tensor bias = gpu.alloc({6}, DType::F32), alpha = gpu.alloc({6}, DType::F32);
  Tensor out = gpu.alloc({2, 6, 18}, DType::F32);
  const Conv1dParams valid{};
  ASSERT_NO_THROW(gpu.conv1d(x, w, &bias, valid, out));
  ASSERT_NO_THROW(gpu.conv1d_prelu(x, w, &bias, alpha, valid, out));

  const Tensor x_bf16 = gpu.alloc({2, 8, 20}, DType::BF16), w_i32 = gpu.alloc({6, 8, 3}, DType::I32);
  const Tensor w_cin = gpu.alloc({6, 7, 3}, DType::F32), bad_bias = gpu.alloc({5}, DType::F32);
  const Tensor bad_alpha = gpu.alloc({2}, DType::F32), host_x = Tensor::zeros({2, 8, 20}, DType::F32);
  Tensor long_out = gpu.alloc({2, 6, 19}, DType::F32);
  EXPECT_THROW(gpu.conv1d(x_bf16, w, nullptr, valid, out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(host_x, w, nullptr, valid, out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(x, w_i32, nullptr, valid, out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(x, w_cin, nullptr, valid, out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(x, w, &bad_bias, valid, out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(x, w, nullptr, valid, long_out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(x, w, nullptr, {.stride = 0}, out), InvalidArgument);
  EXPECT_THROW(gpu.conv1d(x, w, nullptr, {.dilation = 20}, out), InvalidArgument);  // span past the input
  EXPECT_THROW(gpu.conv1d_prelu(x, w, nullptr, bad_alpha, valid, out), InvalidArgument);
  Tensor same = gpu.alloc({2, 8, 20}, DType::F32);
  const Tensor pointwise = gpu.alloc({8, 8, 1}, DType::F32);
  EXPECT_THROW(gpu.conv1d(same, pointwise, nullptr, valid, same), InvalidArgument);  // out aliases x

  const Tensor up_w = gpu.alloc({8, 6, 4}, DType::F32);  // [Cin, Cout, K], full length 19·2 + 4 = 42
  Tensor up = gpu.alloc({2, 6, 40}, DType::F32);
  ASSERT_NO_THROW(gpu.conv_transpose1d(x, up_w, &bias, 2, 2, up));
  EXPECT_THROW(gpu.conv_transpose1d(x, up_w, &bias, 2, 3, up), InvalidArgument);  // skip + L > full
  EXPECT_THROW(gpu.conv_transpose1d(x, up_w, &bias, 0, 0, up), InvalidArgument);
  EXPECT_THROW(gpu.conv_transpose1d(x, up_w, &bias, 2, -1, up), InvalidArgument);
  EXPECT_THROW(gpu.conv_transpose1d(x, w, &bias, 2, 0, up), InvalidArgument);  // weight [6, 8, 3]: Cin 6
  EXPECT_THROW(gpu.conv_transpose1d(x, up_w, &bad_bias, 2, 0, up), InvalidArgument);
  EXPECT_THROW(gpu.conv_transpose1d(x_bf16, up_w, nullptr, 2, 0, up), InvalidArgument);
}

}  // namespace
}  // namespace hs
