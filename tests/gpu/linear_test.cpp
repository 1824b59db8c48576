// CudaBackend::linear (custom GEMV for ≤ 4 rows, cuBLASLt above) for fp32, bf16 and fp8 weights
// against the CPU backend. For fp8 the reference uses the dequantized weights (per-output-channel
// scale = max|row|/448, E4M3 round to nearest: engine/core/fp8_quantize.h), so the check isolates
// the GPU arithmetic; above 4 rows the activations are quantized per row as well, hence the looser
// tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/core/fp8_quantize.h"
#include "engine/cpu/cpu_backend.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

constexpr double kFp8WeightOnlyTolerance = 1e-2;   // ≤ 4 rows: bf16 activations, fp8 weights
constexpr double kFp8Tolerance = 6e-2;             // > 4 rows: fp8 activations too

struct LinearCase {
  Precision precision;
  std::int64_t rows, in, out;
  bool bias;
};

void PrintTo(const LinearCase& c, std::ostream* os) {
  *os << static_cast<int>(c.precision) << "_" << c.rows << "x" << c.in << "x" << c.out << (c.bias ? "_bias" : "");
}

// The fp32 values the GPU's fp8 weights stand for (the host quantizer's per-row E4M3 rule).
Tensor dequantized_fp8(const Tensor& w) {
  const QuantizedWeight q = quantize_e4m3_rows(w);
  return dequantize_e4m3_rows(q.values, q.scales);
}

class CudaLinear : public ::testing::TestWithParam<LinearCase> {};

TEST_P(CudaLinear, MatchesCpu) {
  HS_REQUIRE_GPU();
  const LinearCase c = GetParam();
  const DType act = c.precision == Precision::F32 ? DType::F32 : DType::BF16;
  CudaBackend& gpu = test::cuda_backend(act);
  CpuBackend cpu;
  std::mt19937 gen(77);
  const Tensor x = test::random_tensor({c.rows, c.in}, gen, act);
  const Tensor w = test::random_tensor({c.out, c.in}, gen, act, 0.05f);
  const Tensor b = test::random_tensor({c.out}, gen, DType::F32);
  const Tensor reference_w = c.precision == Precision::FP8 ? dequantized_fp8(w) : w;
  Tensor want = Tensor::zeros({c.rows, c.out}, DType::F32);
  cpu.linear(x, cpu.load_linear(reference_w, c.bias ? &b : nullptr, Precision::F32), want);
  Tensor out = gpu.alloc({c.rows, c.out}, act);
  gpu.linear(gpu.upload(x), gpu.load_linear(w, c.bias ? &b : nullptr, c.precision), out);
  const double tol = c.precision == Precision::FP8 ? (c.rows <= 4 ? kFp8WeightOnlyTolerance : kFp8Tolerance)
                                                   : test::tolerance(act) * 10;
  EXPECT_LE(test::normalised_error(gpu.download(out), want), tol);
}

// fp32 activations with bf16 / fp8 weights (the backend's default): linear into F32 and
// linear_add into an F32 residual, at decode (GEMV) and prefill (cuBLASLt on converted x) sizes.
TEST(CudaLinearF32Activations, LinearAndLinearAdd) {
  HS_REQUIRE_GPU();
  CudaBackend& gpu = test::cuda_backend(DType::F32);
  CpuBackend cpu;
  std::mt19937 gen(5);
  for (const Precision precision : {Precision::BF16, Precision::FP8})
    for (const std::int64_t rows : {2, 40}) {
      const std::int64_t in = 256, out_features = 96;
      const Tensor x = test::random_tensor({rows, in}, gen, DType::F32);
      const Tensor w = test::random_tensor({out_features, in}, gen, DType::BF16, 0.05f);
      const Tensor b = test::random_tensor({out_features}, gen, DType::F32);
      const Tensor residual = test::random_tensor({rows, out_features}, gen, DType::F32);
      const Weight cpu_w = cpu.load_linear(precision == Precision::FP8 ? dequantized_fp8(w) : w, &b, Precision::F32);
      const Weight gpu_w = gpu.load_linear(w, &b, precision);
      Tensor want = residual.clone();
      cpu.linear_add(x, cpu_w, want);
      Tensor got = gpu.upload(residual);
      gpu.linear_add(gpu.upload(x), gpu_w, got);
      // Prefill: x rounded to bf16 (bf16 weights) or fp8 per row; decode: fp32 x with bf16
      // weights, x rounded to bf16 on the tensor-core path of fp8 weights.
      const double tol = precision == Precision::FP8 && rows > 4 ? kFp8Tolerance : 1e-2;
      EXPECT_LE(test::normalised_error(gpu.download(got), want), tol) << rows << " rows";
      Tensor plain = gpu.alloc({rows, out_features}, DType::F32);
      gpu.linear(gpu.upload(x), gpu_w, plain);
      Tensor plain_want = Tensor::zeros({rows, out_features}, DType::F32);
      cpu.linear(x, cpu_w, plain_want);
      EXPECT_LE(test::normalised_error(gpu.download(plain), plain_want), tol) << rows << " rows";
    }
}

// linear_swiglu over a [W1; W3] stack: the gated GEMV at decode rows, one GEMM with the SwiGLU
// epilogue above, into the narrow (bf16) dtype, against the CPU's base-class path (slices,
// linears, silu_mul).
TEST(CudaLinearF32Activations, SwiGlu) {
  HS_REQUIRE_GPU();
  CudaBackend& gpu = test::cuda_backend(DType::F32);
  CpuBackend cpu;
  std::mt19937 gen(6);
  for (const Precision precision : {Precision::BF16, Precision::FP8})
    for (const std::int64_t rows : {2, 40}) {
      const std::int64_t in = 256, ffn = 96;
      const Tensor x = test::random_tensor({rows, in}, gen, DType::BF16);
      const Tensor w = test::random_tensor({2 * ffn, in}, gen, DType::BF16, 0.05f);
      const Weight cpu_w = cpu.load_linear(precision == Precision::FP8 ? dequantized_fp8(w) : w, nullptr, Precision::F32);
      Tensor gate = Tensor::zeros({rows, ffn}, DType::F32), up = gate.clone(), want = gate.clone();
      cpu.linear_swiglu(x, cpu_w, gate, up, want);
      const DType narrow = gpu.narrow_dtype(precision);
      Tensor ggate = gpu.alloc({rows, ffn}, DType::F32), gup = gpu.alloc({rows, ffn}, DType::F32);
      Tensor got = gpu.alloc({rows, ffn}, narrow);
      const Tensor x16 = x.to_bf16();  // x as the narrow GEMV input
      gpu.linear_swiglu(gpu.upload_exact(x16), gpu.load_linear(w, nullptr, precision), ggate, gup, got);
      const double tol = precision == Precision::FP8 && rows > 4 ? kFp8Tolerance : 1e-2;
      EXPECT_LE(test::normalised_error(gpu.download(got), want), tol) << rows << " rows";
    }
}

// linear_parts: q/k/v-like stacked projections, one GEMV into three outputs at decode rows, one
// GEMM with a split epilogue above, against the CPU's base-class path (one linear per row slice of
// the stack).
TEST(CudaLinearF32Activations, Parts) {
  HS_REQUIRE_GPU();
  CudaBackend& gpu = test::cuda_backend(DType::F32);
  CpuBackend cpu;
  std::mt19937 gen(7);
  const std::int64_t widths[] = {96, 32, 32};
  for (const Precision precision : {Precision::BF16, Precision::FP8})
    for (const std::int64_t rows : {2, 40}) {
      const std::int64_t in = 256;
      const Tensor x = test::random_tensor({rows, in}, gen, DType::F32);
      const Tensor w = test::random_tensor({160, in}, gen, DType::BF16, 0.05f);
      const Weight cpu_w = cpu.load_linear(precision == Precision::FP8 ? dequantized_fp8(w) : w, nullptr, Precision::F32);
      const Weight gpu_w = gpu.load_linear(w, nullptr, precision);
      std::vector<Tensor> want, got;
      for (const std::int64_t width : widths) {
        want.push_back(Tensor::zeros({rows, width}, DType::F32));
        got.push_back(gpu.alloc({rows, width}, DType::F32));
      }
      Tensor* const want_parts[] = {&want[0], &want[1], &want[2]};
      Tensor* const got_parts[] = {&got[0], &got[1], &got[2]};
      cpu.linear_parts(x, cpu_w, want_parts);
      gpu.linear_parts(gpu.upload(x), gpu_w, got_parts);
      const double tol = precision == Precision::FP8 && rows > 4 ? kFp8Tolerance : 1e-2;
      for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_LE(test::normalised_error(gpu.download(got[i]), want[i]), tol) << rows << " rows, part " << i;
    }
}

// linear_parts_rope: q and k rotated in the split GEMM epilogue (after a GEMV: by the rope kernel)
// against linear_parts then rope on the same backend, for fp32, bf16 and fp8 weights, at decode
// rows, one GEMM and GEMM rows in passes through a small scratch (passes that start inside a
// sequence), with heads of 64 (four columns a thread) and of 6 (one column a thread, which
// computes its pair's partner too). Both round the same fp32 values through the same rotation, so
// only the order of fp32 operations could differ.
TEST(CudaLinearF32Activations, PartsWithRopeEqualPartsThenRope) {
  HS_REQUIRE_GPU();
  CudaBackend small(CudaBackendOptions{.scratch_bytes = 64u << 10});
  std::mt19937 gen(11);
  constexpr std::int64_t kIn = 256, kHeads = 3;
  for (CudaBackend* gpu : {&test::cuda_backend(DType::F32), &small})
    for (const Precision precision : {Precision::F32, Precision::BF16, Precision::FP8})
      for (const std::int64_t head_dim : {64, 6})
        for (const auto& [rows, seq] : {std::pair<std::int64_t, std::int64_t>{2, 2}, {40, 20}, {300, 30}}) {
          const std::int64_t width = kHeads * head_dim;
          std::vector<float> freq(static_cast<std::size_t>(head_dim / 2));
          for (std::size_t j = 0; j < freq.size(); ++j) freq[j] = std::pow(10000.0f, -2.0f * static_cast<float>(j) / head_dim);
          std::vector<std::int32_t> pos(static_cast<std::size_t>(seq));
          for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<std::int32_t>(3 * i + 1);
          const Tensor positions = gpu->upload(Tensor::from_i32({seq}, pos));
          const Tensor inv_freq = gpu->upload_exact(Tensor::from_f32({head_dim / 2}, freq));
          const Tensor x = gpu->upload(test::random_tensor({rows, kIn}, gen, DType::F32));
          const Tensor w = test::random_tensor({3 * width, kIn}, gen, DType::BF16, 0.05f).to_f32();
          const Weight gw = gpu->load_linear(w, nullptr, precision);
          std::vector<Tensor> fused, apart;
          for (int i = 0; i < 3; ++i) {
            fused.push_back(gpu->alloc({rows, width}, DType::F32));
            apart.push_back(gpu->alloc({rows, width}, DType::F32));
          }
          Tensor* const fused_parts[] = {&fused[0], &fused[1], &fused[2]};
          Tensor* const apart_parts[] = {&apart[0], &apart[1], &apart[2]};
          gpu->linear_parts_rope(x, gw, fused_parts, 2, positions, inv_freq);
          gpu->linear_parts(x, gw, apart_parts);
          for (int i = 0; i < 2; ++i) {
            Tensor h = apart[i].reshape({rows / seq, seq, kHeads, head_dim});
            gpu->rope(h, positions, inv_freq);
          }
          const std::string at = "precision " + std::to_string(static_cast<int>(precision)) + ", head_dim " + std::to_string(head_dim) +
                                 ", " + std::to_string(rows) + " rows, part ";
          for (int i = 0; i < 3; ++i)
            EXPECT_LE(test::normalised_error(gpu->download(fused[i]), gpu->download(apart[i])), 1e-6) << at << i;
        }
}

// A backend whose scratch holds a few rows of the GEMM's converted x and output runs the rows in
// passes: the same results as the CPU for linear, linear_parts, linear_swiglu and
// linear_gated_add at fp8 and bf16.
TEST(CudaLinearF32Activations, RowsInPassesThroughASmallScratch) {
  HS_REQUIRE_GPU();
  CudaBackend gpu(CudaBackendOptions{.scratch_bytes = 64u << 10});
  CpuBackend cpu;
  std::mt19937 gen(8);
  const std::int64_t rows = 300, in = 256, f = 64;  // x converted + output: 516 (fp8) or 768 bytes a row → 125 or 84 rows a pass
  for (const Precision precision : {Precision::BF16, Precision::FP8}) {
    const Tensor x = test::random_tensor({rows, in}, gen, DType::F32);
    const Tensor w = test::random_tensor({2 * f, in}, gen, DType::BF16, 0.05f);
    const Weight cpu_w = cpu.load_linear(precision == Precision::FP8 ? dequantized_fp8(w) : w, nullptr, Precision::F32);
    const Weight gpu_w = gpu.load_linear(w, nullptr, precision);
    const Tensor gx = gpu.upload(x);
    const double tol = precision == Precision::FP8 ? kFp8Tolerance : 1e-2;
    Tensor want_all = Tensor::zeros({rows, 2 * f}, DType::F32), got_all = gpu.alloc({rows, 2 * f}, DType::F32);
    cpu.linear(x, cpu_w, want_all);
    gpu.linear(gx, gpu_w, got_all);
    EXPECT_LE(test::normalised_error(gpu.download(got_all), want_all), tol) << "linear";
    Tensor want_a = Tensor::zeros({rows, f}, DType::F32), want_b = want_a.clone();
    Tensor got_a = gpu.alloc({rows, f}, DType::F32), got_b = gpu.alloc({rows, f}, DType::F32);
    Tensor* const want_parts[] = {&want_a, &want_b};
    Tensor* const got_parts[] = {&got_a, &got_b};
    cpu.linear_parts(x, cpu_w, want_parts);
    gpu.linear_parts(gx, gpu_w, got_parts);
    EXPECT_LE(test::normalised_error(gpu.download(got_b), want_b), tol) << "linear_parts";
    Tensor want_h = Tensor::zeros({rows, f}, DType::F32), gate = want_h.clone(), up = want_h.clone();
    cpu.linear_swiglu(x, cpu_w, gate, up, want_h);
    Tensor got_h = gpu.alloc({rows, f}, DType::F32), ggate = gpu.alloc({rows, f}, DType::F32),
           gup = gpu.alloc({rows, f}, DType::F32);
    gpu.linear_swiglu(gx, gpu_w, ggate, gup, got_h);
    EXPECT_LE(test::normalised_error(gpu.download(got_h), want_h), tol) << "linear_swiglu";
    // The gated residual over 2 batch entries of 150 rows: passes that start inside an entry.
    const Tensor residual_gate = test::random_tensor({2, 2 * f}, gen, DType::F32);
    const Tensor residual = test::random_tensor({2, rows / 2, 2 * f}, gen, DType::F32);
    Tensor want_r = residual.clone(), proj = Tensor::zeros({rows, 2 * f}, DType::F32);
    cpu.linear_gated_add(x, cpu_w, residual_gate, proj, want_r);
    Tensor got_r = gpu.upload(residual), gproj = gpu.alloc({rows, 2 * f}, DType::F32);
    gpu.linear_gated_add(gx, gpu_w, gpu.upload(residual_gate), gproj, got_r);
    EXPECT_LE(test::normalised_error(gpu.download(got_r), want_r), tol) << "linear_gated_add";
  }
  // A scratch too small for one row's GEMM output is an error naming the option, not a crash.
  CudaBackend tiny(CudaBackendOptions{.scratch_bytes = 1024});
  Tensor out = tiny.alloc({rows, 2 * f}, DType::F32);
  EXPECT_THROW(tiny.linear(tiny.upload(test::random_tensor({rows, 4096}, gen, DType::F32)),
                           tiny.load_linear(test::random_tensor({2 * f, 4096}, gen, DType::BF16), nullptr, Precision::FP8),
                           out),
               InvalidArgument);
}

// The portable path (GPUs without fp8 tensor cores, forced here): fp8 weights widened to bf16 for
// the GEMMs, so above 4 rows only x's bf16 rounding and the bf16 GEMM output remain — within the
// bf16 tolerance where the fp8 tensor-core path needs kFp8Tolerance. Every linear form, a weight
// stored with padded rows (100 → 112) and a bias, fp32 and bf16 activations.
TEST(CudaLinearPortable, Fp8WeightsWidenedToBf16) {
  HS_REQUIRE_GPU();
  CpuBackend cpu;
  std::mt19937 gen(9);
  for (const DType act : {DType::F32, DType::BF16}) {
    CudaBackend gpu(CudaBackendOptions{.activations = act, .portable = true});
    EXPECT_EQ(gpu.gemm_path(), "portable (fp8 widened to bf16)");
    for (const std::int64_t rows : {2, 40, 300}) {
      const std::int64_t in = 256, f = 100;
      const std::string at = std::string(dtype_name(act)) + ", " + std::to_string(rows) + " rows: ";
      const Tensor x = test::random_tensor({rows, in}, gen, act);
      const Tensor w = test::random_tensor({2 * f, in}, gen, DType::BF16, 0.05f);
      const Tensor b = test::random_tensor({2 * f}, gen, DType::F32);
      const Tensor gx = gpu.upload(x);
      const double tol = test::tolerance(DType::BF16);
      const Weight cpu_wb = cpu.load_linear(dequantized_fp8(w), &b, Precision::F32);
      Tensor want = Tensor::zeros({rows, 2 * f}, DType::F32), got = gpu.alloc({rows, 2 * f}, act);
      cpu.linear(x, cpu_wb, want);
      gpu.linear(gx, gpu.load_linear(w, &b, Precision::FP8), got);
      EXPECT_LE(test::normalised_error(gpu.download(got), want), tol) << at << "linear";
      const Tensor w_head = w.slice(0, f).clone();  // 100 rows: stored padded to 112
      const Weight cpu_head = cpu.load_linear(dequantized_fp8(w_head), nullptr, Precision::F32);
      const Tensor residual = test::random_tensor({rows, f}, gen, act);
      Tensor want_r = residual.clone(), got_r = gpu.upload(residual);
      cpu.linear_add(x, cpu_head, want_r);
      gpu.linear_add(gx, gpu.load_linear(w_head, nullptr, Precision::FP8), got_r);
      EXPECT_LE(test::normalised_error(gpu.download(got_r), want_r), tol) << at << "linear_add";
      const Weight cpu_w = cpu.load_linear(dequantized_fp8(w), nullptr, Precision::F32);
      const Weight gpu_w = gpu.load_linear(w, nullptr, Precision::FP8);
      Tensor want_a = Tensor::zeros({rows, f}, DType::F32), want_b = want_a.clone();
      Tensor got_a = gpu.alloc({rows, f}, act), got_b = gpu.alloc({rows, f}, act);
      Tensor* const want_parts[] = {&want_a, &want_b};
      Tensor* const got_parts[] = {&got_a, &got_b};
      cpu.linear_parts(x, cpu_w, want_parts);
      gpu.linear_parts(gx, gpu_w, got_parts);
      EXPECT_LE(test::normalised_error(gpu.download(got_b), want_b), tol) << at << "linear_parts";
      Tensor want_h = Tensor::zeros({rows, f}, DType::F32), gate = want_h.clone(), up = want_h.clone();
      cpu.linear_swiglu(x, cpu_w, gate, up, want_h);
      Tensor got_h = gpu.alloc({rows, f}, gpu.narrow_dtype(Precision::FP8)), ggate = gpu.alloc({rows, f}, act),
             gup = gpu.alloc({rows, f}, act);
      gpu.linear_swiglu(gx, gpu_w, ggate, gup, got_h);
      EXPECT_LE(test::normalised_error(gpu.download(got_h), want_h), tol) << at << "linear_swiglu";
    }
  }
}

// 4-bit weights: the GEMV over the codes (≤ 4 rows) and the widened bf16 GEMM (above) against
// the CPU holding the same dequantized values, for linear with a bias, linear_add, linear_parts
// and linear_swiglu, fp32 and bf16 activations. Only bf16 roundings remain (x, the widened weights,
// the output): the bf16 tolerance. A 96-wide linear is not whole blocks and loads as bf16.
TEST(CudaLinear4Bit, CodesAgainstTheirDequantizedValues) {
  HS_REQUIRE_GPU();
  CpuBackend cpu;
  std::mt19937 gen(10);
  for (const Precision precision : {Precision::NF4, Precision::INT4})
    for (const DType act : {DType::F32, DType::BF16}) {
      CudaBackend& gpu = test::cuda_backend(act);
      for (const std::int64_t rows : {1, 4, 40}) {
        const std::int64_t in = 512, f = 100;
        const std::string at = std::string(dtype_name(act)) + ", " + std::to_string(rows) + " rows: ";
        const Tensor x = test::random_tensor({rows, in}, gen, act);
        const Tensor w = test::random_tensor({2 * f, in}, gen, DType::BF16, 0.05f);
        const Tensor b = test::random_tensor({2 * f}, gen, DType::F32);
        const Tensor gx = gpu.upload(x);
        const double tol = test::tolerance(DType::BF16);
        const Weight gpu_wb = gpu.load_linear(w, &b, precision);
        ASSERT_TRUE(gpu_wb.q4.has_value());
        ASSERT_EQ(gpu_wb.in_features(), in);
        Tensor want = Tensor::zeros({rows, 2 * f}, DType::F32), got = gpu.alloc({rows, 2 * f}, act);
        cpu.linear(x, cpu.load_linear(w, &b, precision), want);
        gpu.linear(gx, gpu_wb, got);
        EXPECT_LE(test::normalised_error(gpu.download(got), want), tol) << at << "linear";
        const Tensor residual = test::random_tensor({rows, 2 * f}, gen, act);
        Tensor want_r = residual.clone(), got_r = gpu.upload(residual);
        const Weight cpu_w = cpu.load_linear(w, nullptr, precision), gpu_w = gpu.load_linear(w, nullptr, precision);
        cpu.linear_add(x, cpu_w, want_r);
        gpu.linear_add(gx, gpu_w, got_r);
        EXPECT_LE(test::normalised_error(gpu.download(got_r), want_r), tol) << at << "linear_add";
        Tensor want_a = Tensor::zeros({rows, f}, DType::F32), want_b = want_a.clone();
        Tensor got_a = gpu.alloc({rows, f}, act), got_b = gpu.alloc({rows, f}, act);
        Tensor* const want_parts[] = {&want_a, &want_b};
        Tensor* const got_parts[] = {&got_a, &got_b};
        cpu.linear_parts(x, cpu_w, want_parts);
        gpu.linear_parts(gx, gpu_w, got_parts);
        EXPECT_LE(test::normalised_error(gpu.download(got_b), want_b), tol) << at << "linear_parts";
        Tensor want_h = Tensor::zeros({rows, f}, DType::F32), gate = want_h.clone(), up = want_h.clone();
        cpu.linear_swiglu(x, cpu_w, gate, up, want_h);
        Tensor got_h = gpu.alloc({rows, f}, gpu.narrow_dtype(precision)), ggate = gpu.alloc({rows, f}, act),
               gup = gpu.alloc({rows, f}, act);
        gpu.linear_swiglu(gx, gpu_w, ggate, gup, got_h);
        EXPECT_LE(test::normalised_error(gpu.download(got_h), want_h), tol) << at << "linear_swiglu";
      }
      EXPECT_FALSE(gpu.load_linear(test::random_tensor({8, 96}, gen, DType::BF16), nullptr, precision).q4.has_value());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaLinear,
    ::testing::Values(LinearCase{Precision::F32, 2, 512, 300, true}, LinearCase{Precision::F32, 64, 256, 96, false},
                      LinearCase{Precision::BF16, 1, 3072, 1024, false}, LinearCase{Precision::BF16, 2, 3072, 8197, false},
                      LinearCase{Precision::BF16, 7, 512, 64, true}, LinearCase{Precision::BF16, 300, 3072, 1024, false},
                      LinearCase{Precision::FP8, 2, 8192, 3072, false}, LinearCase{Precision::FP8, 2, 512, 64, true},
                      LinearCase{Precision::FP8, 96, 3072, 512, false}, LinearCase{Precision::FP8, 33, 64, 128, true}),
    [](const auto& info) {
      const LinearCase& c = info.param;
      const char* precision = c.precision == Precision::F32 ? "f32" : c.precision == Precision::BF16 ? "bf16" : "fp8";
      return std::string(precision) + "_" + std::to_string(c.rows) + "x" + std::to_string(c.in) +
             "x" + std::to_string(c.out) + (c.bias ? "_bias" : "");
    });

}  // namespace
}  // namespace hs
