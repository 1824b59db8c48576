// Many songs per step on CUDA: the paged ops and the per-song sampler against the CPU backend,
// and MulaBatch against MulaSession on the same device (demo-shaped random LM, fp32 activations).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/lm/mula_batch.h"
#include "engine/model/lm/transformer.h"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kHeads = 24, kKv = 8, kHd = 128, kBlock = 16, kBlocks = 300, kWidth = 80;

// `copies` × 7 tokens over 3 KV rows with shuffled blocks: positions within the first block, past
// it, over several 512-key splits, and a padding token. Many tokens make one block take all of a
// token's splits, few give each split its own block: both must match the CPU.
struct PagedCase {
  std::vector<std::int32_t> pos, row, table;
  Tensor positions, rows, tables;
  std::int64_t tokens;
};

PagedCase paged_case(int copies) {
  const std::vector<std::int32_t> one_positions{0, 17, 1100, 3, 127, 600, 0}, one_rows{0, 0, 1, 2, 1, 2, -1};
  PagedCase c;
  for (int i = 0; i < copies; ++i) {
    c.pos.insert(c.pos.end(), one_positions.begin(), one_positions.end());
    c.row.insert(c.row.end(), one_rows.begin(), one_rows.end());
  }
  c.tokens = static_cast<std::int64_t>(c.pos.size());
  c.table.resize(3 * kWidth);
  for (std::int32_t i = 0; i < 3 * kWidth; ++i) c.table[static_cast<std::size_t>(i)] = (i * 17 + 5) % kBlocks;
  c.tables = Tensor::from_i32({3, kWidth}, c.table);
  c.positions = Tensor::from_i32({c.tokens}, c.pos);
  c.rows = Tensor::from_i32({c.tokens}, c.row);
  return c;
}

// An fp8 pool: the stored values within the rotation's last-bit differences (which may move an
// E4M3 rounding), attention over the CPU's pool uploaded byte for byte as tightly as over an fp32 one.
void paged_ops_match_the_cpu(int copies, DType cache) {
  CpuBackend cpu;
  CudaBackend& gpu = test::cuda_backend(DType::F32);
  const PagedCase c = paged_case(copies);
  const std::vector<std::int32_t> &pos = c.pos, &row = c.row, &table = c.table;
  const std::int64_t tokens = c.tokens;
  const Tensor &positions = c.positions, &rows = c.rows, &tables = c.tables;
  std::mt19937 gen(3);
  const Tensor q = test::random_tensor({tokens, kHeads, kHd}, gen, DType::F32);
  const Tensor k = test::random_tensor({tokens, kKv, kHd}, gen, DType::F32);
  const Tensor v = test::random_tensor({tokens, kKv, kHd}, gen, DType::F32);
  const Shape pool_shape{kBlocks, kBlock, kKv, kHd};
  const Tensor k_pool = test::random_tensor(pool_shape, gen, DType::F32);
  const Tensor v_pool = test::random_tensor(pool_shape, gen, DType::F32);
  std::vector<std::int32_t> slot;
  for (std::int64_t t = 0; t < tokens; ++t) {
    const std::int32_t r = row[static_cast<std::size_t>(t)], p = pos[static_cast<std::size_t>(t)];
    // Only the first copy stores (the later ones would overwrite the same slots).
    slot.push_back(r < 0 || t >= 7 ? -1 : table[static_cast<std::size_t>(r * kWidth + p / kBlock)] * kBlock + p % kBlock);
  }
  const Tensor slots = Tensor::from_i32({tokens}, slot);
  Tensor inv_freq = Tensor::zeros({kHd / 2}, DType::F32);
  for (std::int64_t j = 0; j < kHd / 2; ++j) inv_freq.data<float>()[j] = std::pow(500000.0f, -2.0f * j / kHd);

  const bool fp8 = cache == DType::F8_E4M3;
  const auto pool = [&](Backend& b, const Tensor& values) {
    return fp8 ? alloc_kv(b, pool_shape, cache) : ScaledTensor(&b == &gpu ? gpu.upload(values) : values.clone());
  };
  Tensor cq = q.clone(), ck = k.clone();
  const ScaledTensor ckp = pool(cpu, k_pool), cvp = pool(cpu, v_pool);
  cpu.rope_store_paged(cq, ck, v, positions, inv_freq, slots, ckp, cvp);
  Tensor cout = Tensor::zeros(q.shape(), DType::F32);
  cpu.paged_attention(cq, ckp, cvp, tables, rows, positions, cout);

  Tensor gq = gpu.upload(q), gk = gpu.upload(k);
  ScaledTensor gkp = pool(gpu, k_pool), gvp = pool(gpu, v_pool);
  const Tensor gpos = gpu.upload(positions), grows = gpu.upload(rows), gtables = gpu.upload(tables);
  gpu.rope_store_paged(gq, gk, gpu.upload(v), gpos, gpu.upload_exact(inv_freq), gpu.upload(slots), gkp, gvp);
  EXPECT_LT(test::normalised_error(gpu.download(gq), cq), 1e-6);
  const auto values = [&](const ScaledTensor& p, bool on_gpu) {
    Tensor out = on_gpu ? gpu.download(p.data) : p.data.to_f32();
    if (!fp8) return out;
    const Tensor scale = on_gpu ? gpu.download(p.scale) : p.scale;
    for (std::int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] *= scale.data<float>()[i / kHd];
    return out;
  };
  EXPECT_LT(test::normalised_error(values(gkp, true), values(ckp, false)), fp8 ? 1e-3 : 1e-6);
  EXPECT_LE(test::normalised_error(values(gvp, true), values(cvp, false)), fp8 ? 0.0 : 1e-6);
  if (fp8) {  // attend over the CPU's pool
    gkp = ScaledTensor(gpu.upload_exact(ckp.data), gpu.upload_exact(ckp.scale));
    gvp = ScaledTensor(gpu.upload_exact(cvp.data), gpu.upload_exact(cvp.scale));
  }
  Tensor gout = gpu.alloc(q.shape(), DType::F32);
  gpu.paged_attention(gq, gkp, gvp, gtables, grows, gpos, gout);
  const Tensor out = gpu.download(gout);
  EXPECT_LT(test::normalised_error(out, cout), 1e-5) << copies << " copies, " << dtype_name(cache);
  for (std::int64_t t = 6; t < tokens; t += 7)
    for (std::int64_t i = t * kHeads * kHd; i < (t + 1) * kHeads * kHd; ++i) ASSERT_EQ(out.data<float>()[i], 0.0f);
}

TEST(PagedOpsCuda, MatchTheCpu) {
  HS_REQUIRE_GPU();
  for (const DType cache : {DType::F32, DType::F8_E4M3}) {
    paged_ops_match_the_cpu(1, cache);
    paged_ops_match_the_cpu(20, cache);
  }
}

// The bf16 pool of the bf16 and fp8 models, read with bf16 queries, against the CPU over the same
// rounded values: within the rounding of the bf16 output.
TEST(PagedOpsCuda, Bf16PoolMatchesTheCpu) {
  HS_REQUIRE_GPU();
  CpuBackend cpu;
  CudaBackend& gpu = test::cuda_backend(DType::BF16);
  for (const int copies : {1, 20}) {
    const PagedCase c = paged_case(copies);
    std::mt19937 gen(4);
    const Tensor q = test::random_tensor({c.tokens, kHeads, kHd}, gen, DType::BF16);
    const Tensor k_pool = test::random_tensor({kBlocks, kBlock, kKv, kHd}, gen, DType::BF16);
    const Tensor v_pool = test::random_tensor({kBlocks, kBlock, kKv, kHd}, gen, DType::BF16);
    Tensor cout = Tensor::zeros(q.shape(), DType::F32);
    cpu.paged_attention(q, ScaledTensor(k_pool.clone()), ScaledTensor(v_pool.clone()), c.tables, c.rows, c.positions,
                        cout);
    Tensor gout = gpu.alloc(q.shape(), DType::BF16);
    gpu.paged_attention(gpu.upload(q), ScaledTensor(gpu.upload(k_pool)), ScaledTensor(gpu.upload(v_pool)),
                        gpu.upload(c.tables), gpu.upload(c.rows), gpu.upload(c.positions), gout);
    EXPECT_LT(test::normalised_error(gpu.download(gout), cout), test::tolerance(DType::BF16)) << copies << " copies";
  }
}

TEST(SampleRowsCuda, DrawsWhatTheCpuDraws) {
  HS_REQUIRE_GPU();
  CpuBackend cpu;
  CudaBackend& gpu = test::cuda_backend(DType::F32);
  constexpr std::int64_t kRows = 6, kVocab = 8197, kSongs = 3;
  std::mt19937 gen(11);
  const Tensor logits = test::random_tensor({kRows, kVocab}, gen, DType::F32, 3.0f);
  Tensor cfg = Tensor::zeros({kSongs}, DType::U8);
  cfg.data<std::uint8_t>()[0] = 1;
  const Tensor first = Tensor::from_i32({kSongs}, {0, 3, -1}), topk = Tensor::from_i32({kSongs}, {50, 1, 7});
  const Tensor temperature = Tensor::from_f32({kSongs}, {1.0f, 0.8f, 1.0f}), scale = Tensor::from_f32({kSongs}, {1.5f, 1.0f, 2.0f});
  const Tensor blocked = Tensor::from_i32({kSongs, 2}, {8192, 8197, 0, 100, 0, 0});
  Tensor rng = Tensor::zeros({kSongs, 2}, DType::I64);
  for (std::int64_t s = 0; s < kSongs; ++s) rng.data<std::int64_t>()[2 * s] = 100 + s;
  for (int round = 0; round < 3; ++round) {
    Tensor ctok = Tensor::zeros({kSongs}, DType::I32), crow = Tensor::zeros({kRows}, DType::I32), crng = rng.clone();
    cpu.sample_rows(logits, {first, cfg, temperature, topk, scale, blocked}, crng, ctok, crow);
    Tensor gtok = gpu.alloc({kSongs}, DType::I32), grow = gpu.alloc({kRows}, DType::I32), grng = gpu.upload(rng);
    gpu.sample_rows(gpu.upload(logits), {gpu.upload(first), gpu.upload(cfg), gpu.upload_exact(temperature), gpu.upload(topk),
                                         gpu.upload_exact(scale), gpu.upload(blocked)},
                    grng, gtok, grow);
    const Tensor tok = gpu.download(gtok), row = gpu.download(grow), r = gpu.download(grng);
    EXPECT_EQ(std::memcmp(tok.raw(), ctok.raw(), tok.bytes()), 0) << "round " << round;
    EXPECT_EQ(std::memcmp(row.raw(), crow.raw(), row.bytes()), 0) << "round " << round;
    EXPECT_EQ(std::memcmp(r.raw(), crng.raw(), r.bytes()), 0) << "round " << round;
    EXPECT_EQ(crng.data<std::int64_t>()[5], 0) << "the skipped song's counter stays";
    rng = crng;
  }
}

// A random demo-shaped language model (text vocabulary 300) on `gpu`.
std::shared_ptr<const MulaModel> random_demo_model(CudaBackend& gpu, std::uint64_t seed) {
  const fs::path dir = fs::temp_directory_path() / ("hs_batch_cuda_" + std::to_string(::getpid()));
  write_random_mula_folder(dir, demo_mula_config(300), 64, seed);
  auto model = MulaModel::load(gpu, dir);
  fs::remove_all(dir);
  return model;
}

TEST(MulaBatchCuda, SongsTogetherMatchAlone) {
  HS_REQUIRE_GPU();
  const auto model = random_demo_model(test::cuda_backend(DType::F32), 7);
  struct Song {
    Prompt prompt;
    SessionOptions options;
  };
  auto make = [](std::int64_t length, float cfg_scale, int topk, std::uint64_t seed) {
    const std::int64_t batch = cfg_scale != 1.0f ? 2 : 1;
    Prompt p{Tensor::zeros({batch, length, 9}, DType::I32), Tensor::zeros({batch, length, 9}, DType::U8), 1};
    for (std::int64_t i = 0; i < batch * length; ++i) {
      p.tokens.data<std::int32_t>()[i * 9 + 8] = static_cast<std::int32_t>((i * 37 + seed) % 300);
      p.mask.data<std::uint8_t>()[i * 9 + 8] = 1;
    }
    return Song{p, {{.temperature = 1.0f, .topk = topk, .cfg_scale = cfg_scale}, seed, 20}};
  };
  const std::vector<Song> songs{make(30, 1.5f, 1, 1), make(9, 1.0f, 1, 2), make(51, 2.0f, 1, 3)};
  MulaBatch batch(*model, {.slots = 3});
  double worst = 0.0;
  std::vector<std::vector<Frame>> got(songs.size()), alone(songs.size());
  for (std::size_t i = 0; i < songs.size(); ++i) {
    Frame first;
    ASSERT_EQ(batch.join(songs[i].prompt, songs[i].options, first), static_cast<std::int64_t>(i));
    got[i].push_back(first);
  }
  std::vector<MulaSession> sessions;
  for (const Song& s : songs) sessions.emplace_back(*model, s.prompt, s.options);
  for (std::size_t i = 0; i < songs.size(); ++i) alone[i].push_back(*sessions[i].step());
  for (int f = 1; f < 20; ++f) {
    for (const auto& [slot, frame] : batch.step()) got[static_cast<std::size_t>(slot)].push_back(frame);
    for (std::size_t i = 0; i < songs.size(); ++i) {
      Tensor guided;
      alone[i].push_back(*sessions[i].step({.guided_logits = &guided}));
      const Tensor mine = batch.last_logits(static_cast<std::int64_t>(i));
      const std::int64_t vocab = mine.dim(1);
      Tensor combined = Tensor::zeros({vocab}, DType::F32), expected = combined.clone();
      for (std::int64_t j = 0; j < vocab; ++j) {
        const float c = mine.data<float>()[j], u = mine.dim(0) == 2 ? mine.data<float>()[vocab + j] : c;
        combined.data<float>()[j] = mine.dim(0) == 2 ? u + (c - u) * songs[i].options.sampling.cfg_scale : c;
        expected.data<float>()[j] = guided.data<float>()[(kNumCodebooks - 1) * vocab + j];
      }
      worst = std::max(worst, test::normalised_error(combined, expected));
    }
  }
  for (std::size_t i = 0; i < songs.size(); ++i) EXPECT_EQ(got[i], alone[i]) << "song " << i;
  // fp32 on both sides; they differ only in summation order (GEMM vs GEMV rows, attention splits).
  EXPECT_LT(worst, 1e-4);
  std::printf("MulaBatchCuda: worst normalised logit difference to the songs alone %.3g\n", worst);
}

// Graphs captured ahead of the first songs (MulaBatch::prepare_steps: nothing runs at capture)
// step the same frames, bit for bit, as graphs captured by the steps that first need them.
TEST(MulaBatchCuda, StepsCapturedAheadGiveTheSameFrames) {
  HS_REQUIRE_GPU();
  const auto model = random_demo_model(test::cuda_backend(DType::F32), 8);
  const auto frames = [&](bool prepare) {
    MulaBatch batch(*model, {.slots = 5});
    if (prepare) batch.prepare_steps();
    std::vector<Frame> out;
    for (std::int32_t i = 0; i < 5; ++i) {  // 1 to 5 songs: buckets of 2, 4, 8 and 10 rows
      const std::int64_t rows = i % 2 ? 1 : 2, length = 7 + i;
      Prompt p{Tensor::zeros({rows, length, 9}, DType::I32), Tensor::zeros({rows, length, 9}, DType::U8), 1};
      for (std::int64_t j = 0; j < rows * length; ++j) {
        p.tokens.data<std::int32_t>()[j * 9 + 8] = static_cast<std::int32_t>((j * 31 + i) % 300);
        p.mask.data<std::uint8_t>()[j * 9 + 8] = 1;
      }
      Frame first;
      batch.join(p, {{.temperature = 1.0f, .topk = 50, .cfg_scale = rows == 2 ? 1.5f : 1.0f}, 40u + i, 12}, first);
      out.push_back(first);
      for (int f = 0; f < 2; ++f)
        for (const auto& [slot, frame] : batch.step()) out.push_back(frame);
    }
    EXPECT_EQ(batch.step_shapes(), 4);
    return out;
  };
  EXPECT_EQ(frames(true), frames(false));
}

}  // namespace
}  // namespace hs
