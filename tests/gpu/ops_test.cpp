// Every LM op of the CUDA backend against the CPU reference backend, for fp32 and bf16
// activations; inputs are rounded to the device precision first (STYLE.md 3).
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "engine/cpu/cpu_backend.h"
#include "engine/model/lm/transformer.h"
#include "kernels/cuda_check.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

using test::normalised_error;
using test::random_tensor;
using test::tolerance;

class CudaOps : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { HS_REQUIRE_GPU(); }
  DType act() const { return GetParam(); }
  CudaBackend& gpu() const { return test::cuda_backend(GetParam()); }
  CpuBackend cpu;
  std::mt19937 gen{1234};
};

TEST_P(CudaOps, RmsNorm) {
  for (std::int64_t dim : {64, 96, 3072, 4096, 16384}) {
    const Tensor x = random_tensor({5, dim}, gen, act(), 3.0f), scale = random_tensor({dim}, gen, act());
    Tensor want = Tensor::zeros({5, dim}, DType::F32);
    cpu.rms_norm(x, scale, 1e-5f, want);
    Tensor out = gpu().alloc({5, dim}, act());
    gpu().rms_norm(gpu().upload(x), gpu().upload(scale), 1e-5f, out);
    EXPECT_LE(normalised_error(gpu().download(out), want), tolerance(act())) << "dim " << dim;
  }
  Tensor odd = gpu().alloc({1, 6}, act());
  EXPECT_THROW(gpu().rms_norm(odd, gpu().alloc({6}, act()), 1e-5f, odd), kernels::CudaError);
}

TEST_P(CudaOps, RopeInterleavedLlama3Frequencies) {
  const std::int64_t head_dim = 128, pairs = head_dim / 2;
  std::vector<float> freq(pairs);
  for (std::int64_t j = 0; j < pairs; ++j) freq[j] = std::pow(500000.0f, -2.0f * j / head_dim) / (j > 40 ? 32.0f : 1.0f);
  const Tensor inv_freq = Tensor::from_f32({pairs}, freq);
  const Tensor positions = Tensor::from_i32({3}, {0, 517, 8000});
  Tensor x = random_tensor({2, 3, 4, head_dim}, gen, act());
  Tensor gx = gpu().upload(x);
  cpu.rope(x, positions, inv_freq);
  gpu().rope(gx, gpu().upload(positions), gpu().upload_exact(inv_freq));
  EXPECT_LE(normalised_error(gpu().download(gx), x), tolerance(act()));
}

TEST_P(CudaOps, SiluMulAndAdd) {
  const Tensor a = random_tensor({3, 1000}, gen, act(), 2.0f), b = random_tensor({3, 1000}, gen, act());
  Tensor want = Tensor::zeros({3, 1000}, DType::F32), out = gpu().alloc({3, 1000}, act());
  cpu.silu_mul(a, b, want);
  gpu().silu_mul(gpu().upload(a), gpu().upload(b), out);
  EXPECT_LE(normalised_error(gpu().download(out), want), tolerance(act()));
  cpu.add(a, b, want);
  Tensor ga = gpu().upload(a);
  gpu().add(ga, gpu().upload(b), ga);  // in place, as the residual stream does
  EXPECT_LE(normalised_error(gpu().download(ga), want), tolerance(act()));
}

TEST_P(CudaOps, EmbedFrameMaskedSum) {
  const std::int64_t vocab = 11, dim = 96, text_rows = 20, rows = 4;
  // Tables in bf16 (the narrow dtype the model keeps them in), sums and out in the activations.
  const Tensor audio = random_tensor({vocab * 8, dim}, gen, DType::BF16), text = random_tensor({text_rows, dim}, gen, DType::BF16);
  const Tensor uncond_text = random_tensor({1, dim}, gen, act());
  Tensor tokens = Tensor::zeros({rows, 9}, DType::I32), mask = Tensor::zeros({rows, 9}, DType::U8);
  Tensor uncond = Tensor::zeros({rows}, DType::U8);
  for (std::int64_t r = 0; r < rows; ++r) {
    uncond.data<std::uint8_t>()[r] = r % 2;
    for (std::int64_t c = 0; c < 9; ++c) {
      tokens.data<std::int32_t>()[r * 9 + c] = static_cast<std::int32_t>((r * 7 + c * 3) % (c < 8 ? vocab : text_rows));
      mask.data<std::uint8_t>()[r * 9 + c] = (r + c) % 3 != 0;
    }
  }
  Tensor want = Tensor::zeros({rows, dim}, DType::F32), out = gpu().alloc({rows, dim}, act());
  cpu.embed_frame(audio, text, uncond_text, vocab, tokens, mask, uncond, want);
  gpu().embed_frame(gpu().upload_exact(audio.to_bf16()), gpu().upload_exact(text.to_bf16()), gpu().upload(uncond_text),
                    vocab, gpu().upload(tokens),
                    gpu().upload(mask), gpu().upload(uncond), out);
  EXPECT_LE(normalised_error(gpu().download(out), want), tolerance(act()));
}

TEST_P(CudaOps, GatherRowsAndKvStore) {
  const Tensor table = random_tensor({30, 64}, gen, DType::BF16);  // a bf16 table widened to the activations
  const Tensor ids = Tensor::from_i32({4}, {4, 0, 9, 25});           // 25 + 10 is past the end: zeros
  Tensor want = Tensor::zeros({3, 64}, DType::F32), out = gpu().alloc({4, 64}, act());
  cpu.gather_rows(table, ids.slice(0, 3), 10, want);
  gpu().gather_rows(gpu().upload_exact(table.to_bf16()), gpu().upload(ids), 10, out);
  const Tensor got = gpu().download(out);
  EXPECT_EQ(normalised_error(got.slice(0, 3), want), 0.0);
  for (std::int64_t i = 0; i < 64; ++i) EXPECT_EQ(got.data<float>()[3 * 64 + i], 0.0f);

  Tensor cache = random_tensor({2, 12, 2, 16}, gen, act());
  const Tensor src = random_tensor({2, 3, 2, 16}, gen, act());
  const Tensor positions = Tensor::from_i32({3}, {5, 6, 11});
  Tensor gcache = gpu().upload(cache);
  cpu.kv_store(cache, src, positions);
  gpu().kv_store(gcache, gpu().upload(src), gpu().upload(positions));
  EXPECT_EQ(normalised_error(gpu().download(gcache), cache), 0.0);
}

// upload_table's two placements: mapped host memory (the default; no device bytes) and the device.
// Either way the kernels read the same rows.
TEST(CudaTables, HostOrDevicePlacement) {
  HS_REQUIRE_GPU();
  std::mt19937 gen(11);
  const Tensor table = random_tensor({300, 1024}, gen, DType::BF16).to_bf16();
  const Tensor ids = Tensor::from_i32({3}, {299, 0, 17});
  CpuBackend cpu;
  Tensor want = Tensor::zeros({3, 1024}, DType::F32);
  cpu.gather_rows(table.to_f32(), ids, 0, want);
  for (const bool in_host : {true, false}) {
    CudaBackend gpu({.activations = DType::F32, .tables_in_host_memory = in_host});
    const std::size_t before = gpu.allocated_bytes();
    const Tensor placed = gpu.upload_table(table);
    EXPECT_EQ(gpu.allocated_bytes() - before, in_host ? 0u : table.bytes()) << "in_host " << in_host;
    Tensor out = gpu.alloc({3, 1024}, DType::F32);
    gpu.gather_rows(placed, gpu.upload(ids), 0, out);
    EXPECT_EQ(normalised_error(gpu.download(out), want), 0.0) << "in_host " << in_host;
  }
}

// The fused CUDA step against the CPU backend's four ops (Backend::rope_store's default).
TEST_P(CudaOps, RopeStoreMatchesRopeAndKvStore) {
  const std::int64_t head_dim = 64, pairs = head_dim / 2, capacity = 9;
  std::vector<float> freq(pairs);
  for (std::int64_t j = 0; j < pairs; ++j) freq[j] = std::pow(500000.0f, -2.0f * j / head_dim);
  const Tensor inv_freq = Tensor::from_f32({pairs}, freq);
  const Tensor positions = Tensor::from_i32({2}, {3, 8});
  Tensor q = random_tensor({2, 2, 6, head_dim}, gen, act()), k = random_tensor({2, 2, 3, head_dim}, gen, act());
  const Tensor v = random_tensor({2, 2, 3, head_dim}, gen, act());
  Tensor k_cache = random_tensor({2, capacity, 3, head_dim}, gen, act()), v_cache = random_tensor(k_cache.shape(), gen, act());
  Tensor gq = gpu().upload(q), gk = gpu().upload(k), gk_cache = gpu().upload(k_cache), gv_cache = gpu().upload(v_cache);
  cpu.rope_store(q, k, v, positions, inv_freq, k_cache, v_cache);
  gpu().rope_store(gq, gk, gpu().upload(v), gpu().upload(positions), gpu().upload_exact(inv_freq), gk_cache, gv_cache);
  EXPECT_LE(normalised_error(gpu().download(gq), q), tolerance(act()));
  EXPECT_LE(normalised_error(gpu().download(gk), k), tolerance(act()));
  EXPECT_LE(normalised_error(gpu().download(gk_cache), k_cache), tolerance(act()));
  EXPECT_EQ(normalised_error(gpu().download(gv_cache), v_cache), 0.0);
}

struct AttentionCase {
  const char* name;
  std::int64_t batch, seq, heads, kv_heads, head_dim, keys;
  std::vector<std::int32_t> positions;  // empty: no causal limit
};

TEST_P(CudaOps, Attention) {
  const std::vector<AttentionCase> cases{
      {"decode_split_kv", 2, 1, 24, 8, 128, 3300, {2999}},
      {"decode_short", 2, 1, 24, 8, 128, 64, {40}},
      {"prefill_causal", 2, 37, 24, 8, 128, 37, {}},
      {"depth_decoder_first", 2, 2, 8, 4, 384, 8, {0, 1}},
      {"depth_decoder_last", 2, 1, 8, 4, 384, 8, {7}},
      {"tiny_odd_head_dim", 1, 3, 4, 2, 16, 9, {}},
      {"non_causal", 2, 5, 4, 4, 64, 50, {}},
  };
  for (AttentionCase c : cases) {
    if (std::string(c.name) == "prefill_causal" || std::string(c.name) == "tiny_odd_head_dim")
      for (std::int32_t s = 0; s < c.seq; ++s) c.positions.push_back(s);
    const Tensor q = random_tensor({c.batch, c.seq, c.heads, c.head_dim}, gen, act());
    const Tensor k = random_tensor({c.batch, c.keys, c.kv_heads, c.head_dim}, gen, act());
    const Tensor v = random_tensor({c.batch, c.keys, c.kv_heads, c.head_dim}, gen, act());
    const Tensor pos = c.positions.empty() ? Tensor() : Tensor::from_i32({c.seq}, c.positions);
    Tensor want = Tensor::zeros(q.shape(), DType::F32), out = gpu().alloc(q.shape(), act());
    cpu.attention(q, k, v, pos.defined() ? &pos : nullptr, want);
    const Tensor gpos = pos.defined() ? gpu().upload(pos) : Tensor();
    gpu().attention(gpu().upload(q), gpu().upload(k), gpu().upload(v), gpos.defined() ? &gpos : nullptr, out);
    EXPECT_LE(normalised_error(gpu().download(out), want), act() == DType::F32 ? 1e-5 : 1e-2) << c.name;
  }
}

// The fp8 KV cache (Backend's ScaledTensor): the CUDA store quantizes every vector as the CPU does, bit
// for bit (the same fp32 inputs, the same fp32 division and E4M3 rounding); the fused rope + store
// gives the CPU's cache within the rotation's rounding; attention over one fp8 cache (the CPU's,
// uploaded) matches the CPU's attention over it. Downloads widen E4M3 to fp32 exactly, so equal
// values mean equal bytes.
TEST_P(CudaOps, Fp8KvCache) {
  constexpr std::int64_t kB = 2, kT = 40, kKv = 8, kHd = 128, kHeads = 24, kSeq = 3;
  const Shape cache_shape{kB, kT, kKv, kHd};
  const Tensor src = random_tensor({kB, kSeq, kKv, kHd}, gen, act(), 4.0f);
  const Tensor positions = Tensor::from_i32({kSeq}, {0, 17, 39});
  const ScaledTensor want = alloc_kv(cpu, cache_shape, DType::F8_E4M3);
  cpu.kv_store(want, src, positions);
  const ScaledTensor got = alloc_kv(gpu(), cache_shape, DType::F8_E4M3);
  gpu().kv_store(got, gpu().upload(src), gpu().upload(positions));
  EXPECT_EQ(normalised_error(gpu().download(got.data), want.data.to_f32()), 0.0);
  EXPECT_EQ(normalised_error(gpu().download(got.scale), want.scale), 0.0);

  // rope_store into fp8 caches: the rotation as RopeStoreMatchesRopeAndKvStore checks it, the caches
  // bit for bit what the CPU stores from the rotated k (in the activation dtype) and v.
  std::vector<float> freq(kHd / 2);
  for (std::int64_t j = 0; j < kHd / 2; ++j) freq[j] = std::pow(500000.0f, -2.0f * j / kHd);
  const Tensor inv_freq = Tensor::from_f32({kHd / 2}, freq);
  Tensor q = random_tensor({kB, kSeq, kHeads, kHd}, gen, act()), k = src.clone();
  const Tensor v = random_tensor({kB, kSeq, kKv, kHd}, gen, act());
  const ScaledTensor ck = alloc_kv(cpu, cache_shape, DType::F8_E4M3), cv = alloc_kv(cpu, cache_shape, DType::F8_E4M3);
  const ScaledTensor gk = alloc_kv(gpu(), cache_shape, DType::F8_E4M3), gv = alloc_kv(gpu(), cache_shape, DType::F8_E4M3);
  Tensor gq = gpu().upload(q), gkk = gpu().upload(k);
  gpu().rope_store(gq, gkk, gpu().upload(v), gpu().upload(positions), gpu().upload_exact(inv_freq), gk, gv);
  cpu.rope_store(q, k, v, positions, inv_freq, cpu.alloc(cache_shape, DType::F32), cpu.alloc(cache_shape, DType::F32));
  EXPECT_LE(normalised_error(gpu().download(gkk), k), tolerance(act()));
  cpu.kv_store(ck, gpu().download(gkk), positions);
  cpu.kv_store(cv, v, positions);
  for (const auto& [name, g, c] : {std::tuple{"keys", gk, ck}, std::tuple{"values", gv, cv}}) {
    EXPECT_EQ(normalised_error(gpu().download(g.data), c.data.to_f32()), 0.0) << name;
    EXPECT_EQ(normalised_error(gpu().download(g.scale), c.scale), 0.0) << name;
  }

  // Attention over the CPU's caches, uploaded byte for byte: decode (split KV) and causal prefill.
  const ScaledTensor uk(gpu().upload_exact(ck.data), gpu().upload_exact(ck.scale));
  const ScaledTensor uv(gpu().upload_exact(cv.data), gpu().upload_exact(cv.scale));
  std::vector<std::int32_t> causal(kT);
  for (std::int32_t i = 0; i < kT; ++i) causal[static_cast<std::size_t>(i)] = i;
  for (const Tensor& pos : {Tensor::from_i32({1}, {39}), Tensor::from_i32({kT}, causal)}) {
    const std::int64_t seq = pos.dim(0);
    const Tensor qa = random_tensor({kB, seq, kHeads, kHd}, gen, act());
    Tensor expect = Tensor::zeros(qa.shape(), DType::F32), out = gpu().alloc(qa.shape(), act());
    cpu.attention(qa, ck, cv, &pos, expect);
    const Tensor gpos = gpu().upload(pos);
    gpu().attention(gpu().upload(qa), uk, uv, &gpos, out);
    EXPECT_LE(normalised_error(gpu().download(out), expect), act() == DType::F32 ? 1e-5 : 1e-2) << "queries " << seq;
  }
  EXPECT_THROW(gpu().kv_store(ScaledTensor(gpu().alloc(cache_shape, DType::F8_E4M3)), gpu().upload(src),
                              gpu().upload(positions)),
               InvalidArgument)
      << "an fp8 cache without scales";
}

INSTANTIATE_TEST_SUITE_P(Activations, CudaOps, ::testing::Values(DType::F32, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace hs
