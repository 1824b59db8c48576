// fp8 GEMM inputs (Backend::gemm_input_dtype): rms_norm_modulate and linear_swiglu write their
// outputs as row-quantized fp8 in the pass that computes them, and the linears take such inputs.
// Every check is bit for bit: the fused write must equal the fp32 result quantized by the one fp8
// rule (engine/core/fp8_quantize.h, which quantize_fp8 on the GPU matches: quantize_fp8_test), and
// a linear of an fp8 x must equal the same linear of the bf16 x it was quantized from (the GEMM
// quantizes that x the same way) or, where it widens x (decode rows, bf16 weights), of the widened x.
// Shapes: the DiT's (widths 1536 / 3072, MLP hidden 4096 / 8192) at a streaming chunk (2 × 64
// rows) and the offline window (2 × 744), decode rows, and a small odd case.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "engine/core/fp8_quantize.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

class Fp8Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    HS_REQUIRE_GPU();
    if (gpu().gemm_input_dtype(Precision::FP8) != DType::F8_E4M3) GTEST_SKIP() << "no fp8 tensor cores on this GPU";
  }
  // The codec's backend: fp32 activations, bf16 narrow tensors.
  static CudaBackend& gpu() { return test::cuda_backend(DType::F32); }
  // A bf16 device tensor (the narrow dtype) of host fp32 values that bf16 holds exactly.
  static Tensor bf16(const Tensor& host) { return gpu().upload_exact(host.to_bf16()); }
  Tensor random(const Shape& shape, DType dtype = DType::F32, float scale = 1.0f) {
    return test::random_tensor(shape, gen, dtype, scale);
  }
  // x as the fp8 input the GEMM would make of it: host-quantized rows, uploaded as they are.
  static ScaledTensor fp8_rows(const QuantizedWeight& q) {
    return ScaledTensor(gpu().upload_exact(q.values), gpu().upload_exact(q.scales));
  }
  // Whether two device tensors hold the same values, bit for bit (fp8 compared decoded, which
  // keeps every bit of an E4M3 value).
  static bool same_bits(const Tensor& a, const Tensor& b) {
    const Tensor ha = gpu().download(a), hb = gpu().download(b);
    return ha.numel() == hb.numel() && std::memcmp(ha.raw(), hb.raw(), ha.bytes()) == 0;
  }
  // An fp8 output against host-quantized fp32 rows [rows, cols].
  static void expect_quantized(const ScaledTensor& got, const Tensor& want_f32, const std::string& what) {
    const std::int64_t cols = want_f32.dim(want_f32.rank() - 1);
    const QuantizedWeight want = quantize_e4m3_rows(want_f32.reshape({want_f32.numel() / cols, cols}));
    const Tensor values = gpu().download(got.data), scales = gpu().download(got.scale);
    const Tensor want_values = want.values.to_f32();
    EXPECT_EQ(std::memcmp(values.raw(), want_values.raw(), values.bytes()), 0) << what << ": values";
    EXPECT_EQ(std::memcmp(scales.raw(), want.scales.raw(), scales.bytes()), 0) << what << ": scales";
  }
  std::mt19937 gen{2024};
};

// The fused norm's fp8 rows are its fp32 rows quantized: the same kernel computes both.
TEST_F(Fp8Inputs, RmsNormModulateWritesQuantizedRows) {
  for (const Shape& shape : {Shape{2, 64, 1536}, Shape{2, 744, 3072}, Shape{1, 3, 12}}) {
    const std::int64_t batch = shape[0], frames = shape[1], dim = shape[2];
    const Tensor x = gpu().upload_exact(random(shape, DType::F32, 3.0f)), weight = gpu().upload_exact(random({dim})),
                 shift = gpu().upload_exact(random({batch, dim})),
                 scale = gpu().upload_exact(random({batch, dim}, DType::F32, 0.5f));
    Tensor f32 = gpu().alloc(shape, DType::F32);
    gpu().rms_norm_modulate(x, weight, 1e-6f, shift, scale, f32);
    const ScaledTensor out(gpu().alloc(shape, DType::F8_E4M3), gpu().alloc({batch, frames}, DType::F32));
    gpu().rms_norm_modulate(x, weight, 1e-6f, shift, scale, out);
    expect_quantized(out, gpu().download(f32), shape_str(shape));
  }
  const Tensor x = gpu().alloc({2, 3, 8}, DType::F32), v = gpu().alloc({8}, DType::F32);
  const Tensor m = gpu().alloc({2, 8}, DType::F32), fp8 = gpu().alloc({2, 3, 8}, DType::F8_E4M3);
  EXPECT_THROW(gpu().rms_norm_modulate(x, v, 1e-6f, m, m, fp8), InvalidArgument) << "an fp8 out without its scales";
  EXPECT_THROW(gpu().rms_norm_modulate(x, v, 1e-6f, m, m, ScaledTensor(fp8, gpu().alloc({6}, DType::F32))),
               InvalidArgument)
      << "scales [6] for [2, 3] rows";
}

// SwiGLU into fp8: a GEMM's epilogue quantizes its fp32 products; decode rows' GEMV writes bf16
// products, quantized after it.
TEST_F(Fp8Inputs, SwigluWritesQuantizedRows) {
  struct Case {
    std::int64_t rows, in, hidden;
  };
  for (const Case c : {Case{128, 1536, 4096}, Case{1488, 3072, 8192}, Case{3, 1536, 4096}, Case{20, 64, 24}}) {
    const Weight w = gpu().load_linear(random({2 * c.hidden, c.in}, DType::F32, 0.05f), nullptr, Precision::FP8);
    const Tensor x = bf16(random({c.rows, c.in}, DType::BF16));
    Tensor gate = gpu().alloc({c.rows, c.hidden}, DType::BF16), up = gpu().alloc({c.rows, c.hidden}, DType::BF16);
    Tensor f32 = gpu().alloc({c.rows, c.hidden}, DType::F32);
    gpu().linear_swiglu(x, w, gate, up, f32);
    const ScaledTensor out(gpu().alloc({c.rows, c.hidden}, DType::F8_E4M3), gpu().alloc({c.rows}, DType::F32));
    gpu().linear_swiglu(x, w, gate, up, out);
    const Tensor products = gpu().download(f32);
    expect_quantized(out, c.rows <= 4 ? test::round_to(products, DType::BF16) : products,
                     std::to_string(c.rows) + " rows of " + std::to_string(c.hidden));
  }
}

// Linears of an fp8 x: the fp8 GEMM takes it as it is (the same bits as quantizing its bf16 source
// inside the linear); decode rows and bf16 weights widen it (the same bits as the widened x given
// as bf16).
TEST_F(Fp8Inputs, LinearsTakeQuantizedRows) {
  constexpr std::int64_t kIn = 1536, kOut = 1536, kHidden = 4096;
  const Tensor w_host = random({3 * kOut, kIn}, DType::F32, 0.05f), bias = random({3 * kOut});
  const Weight w8 = gpu().load_linear(w_host, &bias, Precision::FP8);
  const Weight w16 = gpu().load_linear(w_host, &bias, Precision::BF16);
  const Weight stack = gpu().load_linear(random({2 * kHidden, kIn}, DType::F32, 0.05f), nullptr, Precision::FP8);
  for (const std::int64_t rows : {std::int64_t{2}, std::int64_t{128}}) {
    const std::string at = std::to_string(rows) + " rows: ";
    const Tensor x_host = random({rows, kIn}, DType::BF16, 2.0f);
    const QuantizedWeight q = quantize_e4m3_rows(x_host);
    const ScaledTensor x8 = fp8_rows(q);
    const Tensor widened = bf16(test::round_to(dequantize_e4m3_rows(q.values, q.scales), DType::BF16));
    const Tensor source = rows <= 4 ? widened : bf16(x_host);
    auto pair = [&](std::int64_t cols, DType dtype = DType::BF16) {
      return std::pair{gpu().alloc({rows, cols}, dtype), gpu().alloc({rows, cols}, dtype)};
    };

    auto [got, want] = pair(3 * kOut);
    gpu().linear(x8, w8, got);
    gpu().linear(source, w8, want);
    EXPECT_TRUE(same_bits(got, want)) << at << "linear, fp8 weights";
    gpu().linear(x8, w16, got);
    gpu().linear(widened, w16, want);
    EXPECT_TRUE(same_bits(got, want)) << at << "linear, bf16 weights";

    auto [q_got, q_want] = pair(kOut);
    auto [k_got, k_want] = pair(kOut);
    auto [v_got, v_want] = pair(kOut);
    Tensor* parts_got[] = {&q_got, &k_got, &v_got};
    Tensor* parts_want[] = {&q_want, &k_want, &v_want};
    gpu().linear_parts(x8, w8, parts_got);
    gpu().linear_parts(source, w8, parts_want);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(same_bits(*parts_got[i], *parts_want[i])) << at << "linear_parts " << i;

    const Weight o = gpu().load_linear(random({kOut, kIn}, DType::F32, 0.05f), nullptr, Precision::FP8);
    const Tensor residual = random({2, rows / 2, kOut}), gate = gpu().upload_exact(random({2, kOut}));
    Tensor add_got = gpu().upload_exact(residual), add_want = gpu().upload_exact(residual);
    Tensor proj = gpu().alloc({rows, kOut}, DType::F32);
    gpu().linear_gated_add(x8, o, gate, proj, add_got);
    gpu().linear_gated_add(source, o, gate, proj, add_want);
    EXPECT_TRUE(same_bits(add_got, add_want)) << at << "linear_gated_add";

    auto [s_got, s_want] = pair(kHidden);
    Tensor g = gpu().alloc({rows, kHidden}, DType::BF16), u = gpu().alloc({rows, kHidden}, DType::BF16);
    gpu().linear_swiglu(x8, stack, g, u, s_got);
    gpu().linear_swiglu(source, stack, g, u, s_want);
    EXPECT_TRUE(same_bits(s_got, s_want)) << at << "linear_swiglu";
  }
  const Weight w32 = gpu().load_linear(random({8, 16}), nullptr, Precision::F32);
  Tensor out = gpu().alloc({8, 8}, DType::F32);
  EXPECT_THROW(gpu().linear(fp8_rows(quantize_e4m3_rows(random({8, 16}))), w32, out), InvalidArgument)
      << "fp32 weights take no fp8 x";
}

// linear_gated_add_norm: the norm kernel takes over the projection's epilogue (one pass for the
// residual update and the next norm). Against linear_gated_add then rms_norm_modulate: the residual
// within a few ulp (the same fp32 operations, which the compiler may fuse differently in the two
// kernels), the norm into fp32 within its row sums' rounding, into fp8 the same bytes but where an
// ulp moved a value across a rounding boundary (at most 1 in 1000). Decode rows take the unfused ops.
TEST_F(Fp8Inputs, ResidualUpdateThenNorm) {
  struct Case {
    std::int64_t batch, frames, in, dim;
    Precision precision;
  };
  for (const Case c : {Case{2, 64, 4096, 1536, Precision::FP8}, Case{2, 744, 8192, 3072, Precision::FP8},
                       Case{2, 64, 1536, 1536, Precision::BF16}, Case{2, 2, 1536, 1536, Precision::FP8},
                       Case{1, 20, 64, 24, Precision::BF16}}) {
    const std::int64_t rows = c.batch * c.frames;
    const std::string at = std::to_string(rows) + " rows of " + std::to_string(c.dim) + ": ";
    const Tensor b = random({c.dim});
    const Weight w = gpu().load_linear(random({c.dim, c.in}, DType::F32, 0.05f), &b, c.precision);
    const ScaledTensor input = c.precision == Precision::FP8
                                   ? fp8_rows(quantize_e4m3_rows(random({rows, c.in})))
                                   : ScaledTensor(bf16(random({rows, c.in}, DType::BF16)));
    const Tensor residual = random({c.batch, c.frames, c.dim}, DType::F32, 4.0f);
    const Tensor gate = gpu().upload_exact(random({c.batch, c.dim})), weight = gpu().upload_exact(random({c.dim}));
    const Tensor shift = gpu().upload_exact(random({c.batch, c.dim})),
                 scale = gpu().upload_exact(random({c.batch, c.dim}, DType::F32, 0.5f));
    Tensor proj = gpu().alloc({rows, c.dim}, DType::F32);
    for (const DType norm_dtype : {DType::F32, DType::F8_E4M3}) {
      auto norm_of = [&] {
        return norm_dtype == DType::F32 ? ScaledTensor(gpu().alloc({c.batch, c.frames, c.dim}, DType::F32))
                                        : ScaledTensor(gpu().alloc({c.batch, c.frames, c.dim}, norm_dtype),
                                                       gpu().alloc({c.batch, c.frames}, DType::F32));
      };
      Tensor h_got = gpu().upload_exact(residual), h_want = gpu().upload_exact(residual);
      const ScaledTensor got = norm_of(), want = norm_of();
      gpu().linear_gated_add_norm(input, w, gate, proj, h_got, weight, 1e-6f, shift, scale, got);
      gpu().linear_gated_add(input, w, gate, proj, h_want);
      gpu().rms_norm_modulate(h_want, weight, 1e-6f, shift, scale, want);
      const std::string what = at + std::string(dtype_name(norm_dtype)) + " norm";
      EXPECT_LE(test::normalised_error(gpu().download(h_got), gpu().download(h_want)), 1e-6) << what << ": residual";
      const Tensor n_got = gpu().download(got.data), n_want = gpu().download(want.data);
      if (norm_dtype == DType::F32) {
        EXPECT_LE(test::normalised_error(n_got, n_want), 1e-5) << what;
        continue;
      }
      std::int64_t differ = 0;
      for (std::int64_t i = 0; i < n_got.numel(); ++i) differ += n_got.data<float>()[i] != n_want.data<float>()[i];
      EXPECT_LE(differ, n_got.numel() / 1000) << what << ": fp8 values that differ";
    }
  }
}

}  // namespace
}  // namespace hs
