// The fp8 KV cache (Backend's ScaledTensor, engine/model/lm/transformer.h KvCache::Fp8) on the CPU
// backend: each stored (position, kv head) vector is the fp8 weight rule applied to that vector
// (engine/core/fp8_quantize.h, checked against quantize_e4m3_rows as an independent reference),
// attention over it is attention over its dequantized values, bad caches are refused, and a
// teacher-forced song on the golden prompts keeps its logits within a measured bound of the
// fp32 cache's.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <random>

#include "engine/core/fp8_quantize.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/lm/transformer.h"
#include "tests/lm/golden_case.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

constexpr std::int64_t kBatch = 2, kKeys = 9, kHeads = 4, kKv = 2, kHd = 16;

Tensor random_f32(const Shape& shape, std::mt19937& gen, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  Tensor t = Tensor::zeros(shape, DType::F32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = normal(gen);
  return t;
}

TEST(KvCacheFp8, StoreQuantizesEachVectorByTheWeightRule) {
  CpuBackend cpu;
  std::mt19937 gen(11);
  const ScaledTensor cache = alloc_kv(cpu, {kBatch, kKeys, kKv, kHd}, DType::F8_E4M3);
  ASSERT_TRUE(cache.fp8());
  ASSERT_EQ(cache.scale.shape(), (Shape{kBatch, kKeys, kKv}));
  Tensor src = random_f32({kBatch, 2, kKv, kHd}, gen, 3.0f);
  std::fill_n(src.data<float>(), kHd, 0.0f);  // an all-zero vector: scale 1
  cpu.kv_store(cache, src, Tensor::from_i32({2}, {4, 7}));

  // The reference: every stored vector is one row of quantize_e4m3_rows over src's vectors.
  const QuantizedWeight want = quantize_e4m3_rows(src.reshape({kBatch * 2 * kKv, kHd}));
  for (std::int64_t b = 0; b < kBatch; ++b)
    for (std::int64_t t = 0; t < kKeys; ++t)
      for (std::int64_t h = 0; h < kKv; ++h) {
        const std::int64_t at = (b * kKeys + t) * kKv + h;
        const std::uint8_t* got = cache.data.data<std::uint8_t>() + at * kHd;
        const std::int64_t s = t == 4 ? 0 : t == 7 ? 1 : -1;
        if (s < 0) {
          EXPECT_EQ(cache.scale.data<float>()[at], 0.0f) << "position " << t << " was not written";
          continue;
        }
        const std::int64_t row = (b * 2 + s) * kKv + h;
        EXPECT_EQ(cache.scale.data<float>()[at], want.scales.data<float>()[row]) << "b " << b << " t " << t << " h " << h;
        EXPECT_EQ(std::memcmp(got, want.values.data<std::uint8_t>() + row * kHd, kHd), 0) << "b " << b << " t " << t;
      }
  EXPECT_EQ(cache.scale.data<float>()[4 * kKv], 1.0f) << "an all-zero vector keeps scale 1";
}

TEST(KvCacheFp8, AttentionReadsTheDequantizedCache) {
  CpuBackend cpu;
  std::mt19937 gen(12);
  const ScaledTensor k = alloc_kv(cpu, {kBatch, kKeys, kKv, kHd}, DType::F8_E4M3);
  const ScaledTensor v = alloc_kv(cpu, {kBatch, kKeys, kKv, kHd}, DType::F8_E4M3);
  std::vector<std::int32_t> all(kKeys);
  for (std::int32_t i = 0; i < kKeys; ++i) all[static_cast<std::size_t>(i)] = i;
  const Tensor positions = Tensor::from_i32({kKeys}, all);
  cpu.kv_store(k, random_f32({kBatch, kKeys, kKv, kHd}, gen, 2.0f), positions);
  cpu.kv_store(v, random_f32({kBatch, kKeys, kKv, kHd}, gen, 0.5f), positions);
  const auto dequantized = [](const ScaledTensor& c) {
    return dequantize_e4m3_rows(c.data.reshape({kBatch * kKeys * kKv, kHd}), c.scale.reshape({kBatch * kKeys * kKv}))
        .reshape({kBatch, kKeys, kKv, kHd});
  };
  const Tensor q = random_f32({kBatch, kKeys, kHeads, kHd}, gen);
  Tensor got = Tensor::zeros(q.shape(), DType::F32), want = got.clone();
  cpu.attention(q, k, v, &positions, got);
  cpu.attention(q, dequantized(k), dequantized(v), &positions, want);
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.bytes()), 0);
}

TEST(KvCacheFp8, BadCachesAreRefused) {
  CpuBackend cpu;
  std::mt19937 gen(13);
  const Tensor src = random_f32({1, 1, kKv, kHd}, gen);
  const Tensor pos = Tensor::from_i32({1}, {0});
  const Tensor fp8 = cpu.alloc({1, kKeys, kKv, kHd}, DType::F8_E4M3);
  EXPECT_THROW(cpu.kv_store(ScaledTensor(fp8), src, pos), InvalidArgument) << "no scales";
  EXPECT_THROW(cpu.kv_store(ScaledTensor(fp8, cpu.alloc({1, kKeys, kKv, kHd}, DType::F32)), src, pos), InvalidArgument)
      << "scales of the data's shape";
  const ScaledTensor good = alloc_kv(cpu, {1, kKeys, kKv, kHd}, DType::F8_E4M3);
  Tensor out = Tensor::zeros({1, 1, kHeads, kHd}, DType::F32);
  EXPECT_THROW(cpu.attention(random_f32({1, 1, kHeads, kHd}, gen), good, cpu.alloc({1, kKeys, kKv, kHd}, DType::F32),
                             &pos, out),
               InvalidArgument)
      << "fp8 keys with fp32 values";
}

// Teacher forced over the golden frames, fp32 weights: the fp8 cache against the fp32 one. The
// error is the E4M3 rounding of keys and values alone (relative 2^-4 per value at worst).
constexpr double kFp8KvBound = 0.025;  // measured 0.0178 (mula_cfg) / 0.0062 (mula_nocfg), x86-64, 2026-12-04

class KvCacheFp8Golden : public ::testing::TestWithParam<test::LmCaseInfo> {};

TEST_P(KvCacheFp8Golden, TeacherForcedLogitErrorIsTheCacheFormats) {
  const test::LmCaseInfo& c = GetParam();
  HS_REQUIRE_SHARED(case_file, "golden/" + c.name + ".safetensors");
  const auto model = test::tiny_model(case_file.parent_path());
  const test::LmGolden g = test::load_lm_golden(case_file);
  const Tensor got = test::teacher_forced_logits(*model, g, c.cfg_scale, KvCache::Fp8);
  const Tensor want = test::teacher_forced_logits(*model, g, c.cfg_scale);
  const double error = test::worst_normalised_error(got, want);
  std::cout << c.name << " fp8 KV cache (CPU): worst normalised logit error " << error << " against the fp32 cache\n";
  RecordProperty("worst_normalised_logit_error", std::to_string(error));
  EXPECT_GT(error, 0.0) << "an fp8 cache must differ from an fp32 one";
  EXPECT_LE(error, kFp8KvBound);
}

INSTANTIATE_TEST_SUITE_P(Golden, KvCacheFp8Golden, ::testing::ValuesIn(test::lm_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace hs
