// CPU backend LM ops against double-precision loops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/core/error.h"
#include "engine/core/fp8_quantize.h"
#include "engine/core/q4_quantize.h"
#include "engine/cpu/cpu_backend.h"
#include "tests/lm/op_reference.h"

namespace hs {
namespace {

using test::random_f32;
using test::relative_error;

constexpr double kOpTolerance = 1e-5;  // fp32 ops against float64 loops, normalised

TEST(CpuOps, RmsNormMatchesDoubleLoop) {
  CpuBackend cpu;
  std::mt19937 gen(1);
  const Tensor x = random_f32({5, 96}, gen, 3.0f), scale = random_f32({96}, gen);
  Tensor out = cpu.alloc({5, 96}, DType::F32);
  const float eps = 1e-5f;
  cpu.rms_norm(x, scale, eps, out);
  std::vector<double> want(5 * 96);
  for (int r = 0; r < 5; ++r) {
    double ss = 0;
    for (int d = 0; d < 96; ++d) ss += double{x.data<float>()[r * 96 + d]} * x.data<float>()[r * 96 + d];
    for (int d = 0; d < 96; ++d)
      want[r * 96 + d] = x.data<float>()[r * 96 + d] / std::sqrt(ss / 96 + eps) * scale.data<float>()[d];
  }
  EXPECT_LE(relative_error(out.data<float>(), want), kOpTolerance);
  Tensor bad = cpu.alloc({5, 95}, DType::F32);
  EXPECT_THROW(cpu.rms_norm(x, scale, eps, bad), InvalidArgument);
}

TEST(CpuOps, RopeRotatesInterleavedPairs) {
  CpuBackend cpu;
  std::mt19937 gen(2);
  const std::int64_t B = 2, S = 3, H = 3, hd = 8;
  Tensor x = random_f32({B, S, H, hd}, gen);
  const Tensor original = x.clone();
  const Tensor pos = Tensor::from_i32({S}, {0, 7, 1000});
  const Tensor freq = Tensor::from_f32({hd / 2}, {1.0f, 0.1f, 0.01f, 1e-4f});
  cpu.rope(x, pos, freq);
  std::vector<double> want(static_cast<std::size_t>(x.numel()));
  const float* o = original.data<float>();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t j = 0; j < hd / 2; ++j) {
          const std::int64_t i = ((b * S + s) * H + h) * hd + 2 * j;
          const double a = pos.data<std::int32_t>()[s] * double{freq.data<float>()[j]};
          want[i] = o[i] * std::cos(a) - o[i + 1] * std::sin(a);
          want[i + 1] = o[i + 1] * std::cos(a) + o[i] * std::sin(a);
        }
  EXPECT_LE(relative_error(x.data<float>(), want), kOpTolerance);
}

TEST(CpuOps, CausalGqaAttentionOverCache) {
  CpuBackend cpu;
  std::mt19937 gen(3);
  const std::int64_t B = 2, S = 3, H = 4, KV = 2, hd = 16, T = 10;
  const Tensor q = random_f32({B, S, H, hd}, gen), k = random_f32({B, T, KV, hd}, gen);
  const Tensor v = random_f32({B, T, KV, hd}, gen);
  const std::vector<std::int32_t> positions{4, 5, 9};
  const Tensor pos = Tensor::from_i32({S}, positions);
  Tensor out = cpu.alloc(q.shape(), DType::F32);
  cpu.attention(q, k, v, &pos, out);
  EXPECT_LE(relative_error(out.data<float>(), test::attention_reference(q, k, v, &positions)), kOpTolerance);
  // Keys beyond the last position must not matter.
  Tensor k2 = k.clone();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t i = 0; i < KV * hd; ++i) k2.data<float>()[(b * T + 9) * KV * hd + i] = 0;
  const Tensor pos_short = Tensor::from_i32({S}, {4, 5, 8});
  Tensor out2 = cpu.alloc(q.shape(), DType::F32), out3 = cpu.alloc(q.shape(), DType::F32);
  cpu.attention(q, k, v, &pos_short, out2);
  cpu.attention(q, k2, v, &pos_short, out3);
  for (std::int64_t i = 0; i < out2.numel(); ++i) ASSERT_EQ(out2.data<float>()[i], out3.data<float>()[i]);
}

TEST(CpuOps, NonCausalAttentionSeesAllKeys) {
  CpuBackend cpu;
  std::mt19937 gen(4);
  const Tensor q = random_f32({1, 5, 6, 8}, gen, 2.0f), k = random_f32({1, 7, 3, 8}, gen, 2.0f);
  const Tensor v = random_f32({1, 7, 3, 8}, gen);
  Tensor out = cpu.alloc(q.shape(), DType::F32);
  cpu.attention(q, k, v, nullptr, out);
  EXPECT_LE(relative_error(out.data<float>(), test::attention_reference(q, k, v, nullptr)), kOpTolerance);
  Tensor bad_k = random_f32({1, 7, 4, 8}, gen);  // 6 heads not a multiple of 4 kv heads
  EXPECT_THROW(cpu.attention(q, bad_k, bad_k, nullptr, out), InvalidArgument);
}

TEST(CpuOps, LinearWithBias) {
  CpuBackend cpu;
  std::mt19937 gen(5);
  const Tensor w = random_f32({24, 40}, gen), bias = random_f32({24}, gen);
  const Weight weight = cpu.load_linear(w, &bias, Precision::F32);
  for (std::int64_t n : {1, 2, 5}) {  // the GEMV (≤ 2 rows) and GEMM paths
    const Tensor x = random_f32({n, 40}, gen);
    Tensor out = cpu.alloc({n, 24}, DType::F32);
    cpu.linear(x, weight, out);
    std::vector<double> want(static_cast<std::size_t>(n * 24));
    for (std::int64_t r = 0; r < n; ++r)
      for (int o = 0; o < 24; ++o) {
        double acc = bias.data<float>()[o];
        for (int i = 0; i < 40; ++i) acc += double{x.data<float>()[r * 40 + i]} * w.data<float>()[o * 40 + i];
        want[r * 24 + o] = acc;
      }
    EXPECT_LE(relative_error(out.data<float>(), want), kOpTolerance) << n << " rows";
  }
  const Tensor x = random_f32({3, 40}, gen);
  Tensor wrong_out = cpu.alloc({3, 23}, DType::F32);
  EXPECT_THROW(cpu.linear(x, weight, wrong_out), InvalidArgument);
}

// BF16 and FP8 hold the values a bf16 / fp8 device holds, in fp32 (the CUDA weight formats simulated).
TEST(CpuOps, LoadLinearRoundsToTheRequestedWeightFormat) {
  CpuBackend cpu;
  std::mt19937 gen(6);
  const Tensor w = random_f32({5, 12}, gen), bias = random_f32({5}, gen);
  const Weight bf16 = cpu.load_linear(w, &bias, Precision::BF16);
  ASSERT_EQ(bf16.values.dtype(), DType::F32);
  for (std::int64_t i = 0; i < w.numel(); ++i)
    EXPECT_EQ(bf16.values.data<float>()[i], bf16_to_f32(f32_to_bf16(w.data<float>()[i])));
  const Weight fp8 = cpu.load_linear(w, &bias, Precision::FP8);
  const QuantizedWeight q = quantize_e4m3_rows(w);
  const Tensor want = dequantize_e4m3_rows(q.values, q.scales);
  ASSERT_EQ(fp8.values.shape(), w.shape());
  EXPECT_EQ(std::memcmp(fp8.values.raw(), want.raw(), want.bytes()), 0);
  EXPECT_FALSE(fp8.scales.defined());
  EXPECT_EQ(std::memcmp(fp8.bias.raw(), bias.raw(), bias.bytes()), 0);
  const Weight direct = cpu.load_quantized_linear(q.values, q.scales, nullptr);
  EXPECT_EQ(std::memcmp(direct.values.raw(), want.raw(), want.bytes()), 0);
  EXPECT_THROW(cpu.load_quantized_linear(w, q.scales, nullptr), InvalidArgument);  // values not F8_E4M3
  EXPECT_THROW(cpu.load_quantized_linear(q.values, Tensor::from_f32({4}, {1, 1, 1, 1}), nullptr), InvalidArgument);
}

// 4-bit codes load as the values they stand for, through load_linear or directly; codes or block
// scales of the wrong dtype or shape are refused.
TEST(CpuOps, LoadQ4LinearHoldsTheDequantizedCodes) {
  CpuBackend cpu;
  std::mt19937 gen(7);
  const Tensor w = random_f32({5, 128}, gen), bias = random_f32({5}, gen);
  const Q4Weight q = quantize_q4(w, Q4Format::NF4);
  const Tensor want = dequantize_q4(q, Q4Format::NF4);
  for (const Weight& got : {cpu.load_linear(w, &bias, Precision::NF4), cpu.load_q4_linear(q, Q4Format::NF4, &bias)}) {
    ASSERT_EQ(got.values.shape(), w.shape());
    EXPECT_EQ(std::memcmp(got.values.raw(), want.raw(), want.bytes()), 0);
    EXPECT_EQ(std::memcmp(got.bias.raw(), bias.raw(), bias.bytes()), 0);
  }
  EXPECT_THROW(cpu.load_q4_linear({w, q.scales}, Q4Format::NF4, nullptr), InvalidArgument);  // codes not U8
  EXPECT_THROW(cpu.load_q4_linear({q.codes, Tensor::from_f32({5}, {1, 1, 1, 1, 1})}, Q4Format::NF4, nullptr),
               InvalidArgument);
  EXPECT_THROW(cpu.load_q4_linear({q.codes, q.scales}, Q4Format::INT4, &w), InvalidArgument);  // bias not [5]
}

TEST(CpuOps, LoadLinearConvertsBf16) {
  CpuBackend cpu;
  Tensor w = Tensor::zeros({2, 2}, DType::BF16);
  const std::vector<float> values{1.5f, -2.0f, 0.25f, 3.0f};
  for (int i = 0; i < 4; ++i) w.data<std::uint16_t>()[i] = f32_to_bf16(values[i]);
  const Weight weight = cpu.load_linear(w, nullptr, Precision::F32);
  ASSERT_EQ(weight.values.dtype(), DType::F32);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(weight.values.data<float>()[i], values[i]);
  EXPECT_FALSE(weight.bias.defined());
}

TEST(CpuOps, EmbedFrameSumsMaskedColumnsAndUsesUncondText) {
  CpuBackend cpu;
  std::mt19937 gen(6);
  const std::int64_t V = 5, D = 4, text_vocab = 11;
  const Tensor audio = random_f32({8 * V, D}, gen), text = random_f32({text_vocab, D}, gen);
  const Tensor uncond_text = random_f32({1, D}, gen);
  std::vector<std::int32_t> tok(3 * 9, 0);
  std::vector<std::uint8_t> msk(3 * 9, 0);
  for (int c = 0; c < 8; ++c) tok[c] = (c + 2) % V, msk[c] = 1;  // row 0: an audio frame
  tok[8] = 7;                                                     // masked out
  tok[9 + 8] = 10, msk[9 + 8] = 1;                                // row 1: text
  tok[18 + 8] = 10, msk[18 + 8] = 1, tok[18 + 3] = 4, msk[18 + 3] = 1;  // row 2: uncond text + audio col 3
  Tensor mask = Tensor::zeros({3, 9}, DType::U8);
  std::copy(msk.begin(), msk.end(), mask.data<std::uint8_t>());
  Tensor uncond = Tensor::zeros({3}, DType::U8);
  uncond.data<std::uint8_t>()[2] = 1;
  Tensor out = cpu.alloc({3, D}, DType::F32);
  cpu.embed_frame(audio, text, uncond_text, V, Tensor::from_i32({3, 9}, tok), mask, uncond, out);
  std::vector<double> want(3 * D, 0.0);
  for (int d = 0; d < D; ++d) {
    for (int c = 0; c < 8; ++c) want[d] += audio.data<float>()[(tok[c] + c * V) * D + d];
    want[D + d] = text.data<float>()[10 * D + d];
    want[2 * D + d] = uncond_text.data<float>()[d] + audio.data<float>()[(4 + 3 * V) * D + d];
  }
  EXPECT_LE(relative_error(out.data<float>(), want), kOpTolerance);
  tok[0] = static_cast<std::int32_t>(V);  // out of the codebook's range
  EXPECT_THROW(cpu.embed_frame(audio, text, uncond_text, V, Tensor::from_i32({3, 9}, tok), mask, uncond, out),
               InvalidArgument);
}

TEST(CpuOps, GatherRowsWithOffset) {
  CpuBackend cpu;
  std::mt19937 gen(7);
  const Tensor table = random_f32({10, 3}, gen);
  Tensor out = cpu.alloc({2, 3}, DType::F32);
  cpu.gather_rows(table, Tensor::from_i32({2}, {1, 4}), 5, out);
  for (int d = 0; d < 3; ++d) {
    EXPECT_EQ(out.data<float>()[d], table.data<float>()[6 * 3 + d]);
    EXPECT_EQ(out.data<float>()[3 + d], table.data<float>()[9 * 3 + d]);
  }
  EXPECT_THROW(cpu.gather_rows(table, Tensor::from_i32({2}, {1, 5}), 5, out), InvalidArgument);
}

TEST(CpuOps, KvStoreWritesPositions) {
  CpuBackend cpu;
  std::mt19937 gen(8);
  Tensor cache = cpu.alloc({2, 6, 2, 3}, DType::F32);
  const Tensor src = random_f32({2, 2, 2, 3}, gen);
  cpu.kv_store(cache, src, Tensor::from_i32({2}, {3, 5}));
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 6; ++t)
      for (int i = 0; i < 6; ++i) {
        const float got = cache.data<float>()[(b * 6 + t) * 6 + i];
        const float want = t == 3 ? src.data<float>()[(b * 2 + 0) * 6 + i]
                           : t == 5 ? src.data<float>()[(b * 2 + 1) * 6 + i] : 0.0f;
        ASSERT_EQ(got, want) << "b " << b << " t " << t << " i " << i;
      }
  EXPECT_THROW(cpu.kv_store(cache, src, Tensor::from_i32({2}, {3, 6})), InvalidArgument);
}

TEST(CpuOps, SiluMulAndAdd) {
  CpuBackend cpu;
  std::mt19937 gen(9);
  const Tensor g = random_f32({4, 7}, gen, 3.0f), u = random_f32({4, 7}, gen);
  Tensor out = cpu.alloc({4, 7}, DType::F32);
  cpu.silu_mul(g, u, out);
  std::vector<double> want(28);
  for (int i = 0; i < 28; ++i) {
    const double x = g.data<float>()[i];
    want[i] = x / (1 + std::exp(-x)) * u.data<float>()[i];
  }
  EXPECT_LE(relative_error(out.data<float>(), want), kOpTolerance);
  Tensor a = g.clone();
  cpu.add(a, u, a);  // aliasing out = a is allowed
  for (int i = 0; i < 28; ++i) EXPECT_EQ(a.data<float>()[i], g.data<float>()[i] + u.data<float>()[i]);
}

TEST(CpuOps, MemoryOpsRoundTrip) {
  CpuBackend cpu;
  Tensor bf = Tensor::zeros({3}, DType::BF16);
  bf.data<std::uint16_t>()[1] = f32_to_bf16(2.5f);
  const Tensor up = cpu.upload(bf);
  EXPECT_EQ(up.dtype(), DType::F32);
  EXPECT_EQ(up.data<float>()[1], 2.5f);
  const Tensor ids = cpu.upload(Tensor::from_i32({2}, {4, 5}));
  EXPECT_EQ(ids.dtype(), DType::I32);
  Tensor dst = cpu.alloc({2}, DType::I32);
  cpu.copy(ids, dst);
  EXPECT_EQ(cpu.download(dst).data<std::int32_t>()[1], 5);
  Tensor wrong = cpu.alloc({2}, DType::F32);
  EXPECT_THROW(cpu.copy(ids, wrong), InvalidArgument);
}

}  // namespace
}  // namespace hs
