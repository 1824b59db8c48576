// CudaBackend::attention without positions: the bf16 tensor-core kernel (attention_tensor_cores,
// head_dim 64 / 128, kv_heads == heads) and the fp32 kernel that serves everything else, against
// CpuBackend::attention on inputs rounded to bf16 (STYLE.md 3).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>

#include "engine/cpu/cpu_backend.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

using test::normalised_error;
using test::random_tensor;

// Unit roundoff of bf16 (8 significant bits).
constexpr double kBf16Unit = 0x1p-8;
// fp32 score, exp2 and accumulation error, and the fp32 kernel's whole error (as in ops_test).
constexpr double kF32Tolerance = 1e-5;

CudaBackend& tensor_core_backend(DType activations) {
  static CudaBackend f32({.activations = DType::F32, .attention_tensor_cores = true});
  static CudaBackend bf16({.activations = DType::BF16, .attention_tensor_cores = true});
  return activations == DType::F32 ? f32 : bf16;
}

struct AttentionShape {
  std::int64_t batch, seq, keys, heads, head_dim;
};

std::string name(const AttentionShape& s) {  // a stream: GCC 12 warns (-Wrestrict) on "B" + std::string
  std::ostringstream out;
  out << "B" << s.batch << "_S" << s.seq << "_T" << s.keys << "_H" << s.heads << "_hd" << s.head_dim;
  return out.str();
}

struct Inputs {
  Tensor q, k, v;
};

// Host fp32 inputs of values `dtype` holds (bf16: exact in bf16, F32: any fp32 value).
Inputs random_inputs(const AttentionShape& s, std::mt19937& gen, DType dtype = DType::BF16) {
  return {random_tensor({s.batch, s.seq, s.heads, s.head_dim}, gen, dtype),
          random_tensor({s.batch, s.keys, s.heads, s.head_dim}, gen, dtype),
          random_tensor({s.batch, s.keys, s.heads, s.head_dim}, gen, dtype)};
}

Tensor cpu_attention(const Tensor& q, const Tensor& k, const Tensor& v) {
  CpuBackend cpu;
  Tensor out = Tensor::zeros(q.shape(), DType::F32);
  cpu.attention(q, k, v, nullptr, out);
  return out;
}

Tensor gpu_attention(CudaBackend& gpu, const Inputs& in) {
  Tensor out = gpu.alloc(in.q.shape(), gpu.activation_dtype());
  gpu.attention(gpu.upload(in.q), gpu.upload(in.k), gpu.upload(in.v), nullptr, out);
  return gpu.download(out);
}

double max_abs(const Tensor& t) {
  double m = 0.0;
  for (std::int64_t i = 0; i < t.numel(); ++i) m = std::max(m, double{std::abs(t.data<float>()[i])});
  return m;
}

class FlashAttention : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { HS_REQUIRE_GPU(); }
  std::mt19937 gen{2024};
};

// With q, k and v exact in bf16, Q·Kᵀ, the softmax and the sums are fp32; the one coarse step is
// rounding each weight p_j to bf16 for P·V (l sums the unrounded weights). That perturbs an output
// by |Σ_j δ_j p_j v_jd| / l ≤ u · Σ_j p_j |v_jd| / l with |δ_j| ≤ u = 2⁻⁸: u times attention over
// |v|. Normalised by max|out| the bound is u · max attn(q, k, |v|) / max attn(q, k, v) ≈ 1e-2 for
// random inputs (the errors' random signs keep the actual error several times lower); bf16 output
// adds one more rounding, u · max|out|.
void expect_within_bound(CudaBackend& gpu, const AttentionShape& s, std::mt19937& gen, bool expect_rounding) {
  const Inputs in = random_inputs(s, gen);
  const Tensor want = cpu_attention(in.q, in.k, in.v);
  Tensor abs_v = in.v.clone();
  for (std::int64_t i = 0; i < abs_v.numel(); ++i) abs_v.data<float>()[i] = std::abs(abs_v.data<float>()[i]);
  const double bound = kBf16Unit * max_abs(cpu_attention(in.q, in.k, abs_v)) / max_abs(want) + kF32Tolerance +
                       (gpu.activation_dtype() == DType::BF16 ? kBf16Unit : 0.0);
  const double error = normalised_error(gpu_attention(gpu, in), want);
  EXPECT_LE(error, bound) << name(s);
  // P's rounding shows, so the tensor-core kernel ran (the fp32 one stays within kF32Tolerance).
  if (expect_rounding) {
    EXPECT_GT(error, kF32Tolerance) << name(s);
  }
  ::testing::Test::RecordProperty(name(s), std::to_string(error) + " (bound " + std::to_string(bound) + ")");
}

TEST_P(FlashAttention, MatchesCpuWithinBf16Bound) {
  CudaBackend& gpu = tensor_core_backend(GetParam());
  for (std::int64_t head_dim : {64, 128})
    for (std::int64_t t : {1, 17, 64, 100, 744}) expect_within_bound(gpu, {1, t, t, 2, head_dim}, gen, false);
  expect_within_bound(gpu, {1, 33, 130, 3, 64}, gen, false);  // fewer queries than keys: blocks of either
}

// The DiT's second stack at the offline window: batch 2 (guidance), 24 heads of 128, 744 frames.
TEST_P(FlashAttention, DitShape) {
  expect_within_bound(tensor_core_backend(GetParam()), {2, 744, 744, 24, 128}, gen, true);
}

INSTANTIATE_TEST_SUITE_P(Activations, FlashAttention, ::testing::Values(DType::F32, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// The DiT keeps q, k and v in the narrow dtype (bf16). The tensor-core kernel rounds fp32 inputs to
// bf16 (to nearest even) as it stages them, so inputs rounded the same way before they reach it give
// the same output, bit for bit: keeping them narrow halves their traffic and changes no result.
TEST(FlashAttentionNarrow, Bf16InputsGiveTheResultOfTheirFp32Values) {
  HS_REQUIRE_GPU();
  CudaBackend& gpu = tensor_core_backend(DType::F32);
  std::mt19937 gen{11};
  for (std::int64_t head_dim : {64, 128}) {
    const AttentionShape s{2, 100, 100, 3, head_dim};
    const Inputs in = random_inputs(s, gen, DType::F32);
    ASSERT_NE(std::memcmp(in.q.raw(), in.q.to_bf16().to_f32().raw(), in.q.bytes()), 0) << "q must not be bf16 values";
    auto narrow = [&](const Tensor& t) { return gpu.upload_exact(t.to_bf16()); };
    Tensor out = gpu.alloc(in.q.shape(), DType::F32);
    gpu.attention(narrow(in.q), narrow(in.k), narrow(in.v), nullptr, out);
    const Tensor want = gpu_attention(gpu, in), got = gpu.download(out);
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.bytes()), 0) << name(s);
  }
}

// Without the option, and with it for head sizes the tensor-core kernel lacks, the fp32 kernel runs:
// fp32 products and sums, so it matches the reference to fp32 accumulation order.
TEST(FlashAttentionFallback, Fp32KernelStaysExact) {
  HS_REQUIRE_GPU();
  std::mt19937 gen{7};
  for (std::int64_t head_dim : {64, 128}) {
    const AttentionShape s{2, 100, 100, 4, head_dim};
    const Inputs in = random_inputs(s, gen);
    EXPECT_LE(normalised_error(gpu_attention(test::cuda_backend(DType::F32), in), cpu_attention(in.q, in.k, in.v)),
              kF32Tolerance)
        << name(s);
  }
  for (std::int64_t head_dim : {16, 96}) {
    const AttentionShape s{2, 100, 100, 4, head_dim};
    const Inputs in = random_inputs(s, gen);
    EXPECT_LE(normalised_error(gpu_attention(tensor_core_backend(DType::F32), in), cpu_attention(in.q, in.k, in.v)),
              kF32Tolerance)
        << name(s);
  }
}

}  // namespace
}  // namespace hs
