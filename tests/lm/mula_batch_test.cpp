// MulaBatch (engine/model/lm/mula_batch.h) on the CPU backend with a random-weight demo LM: songs
// stepped together give exactly the frames each gives alone in a MulaSession — with and without
// CFG, different sampling settings and prompt lengths, songs joining mid-stream, leaving early and
// a slot reused — and the paged KV pool takes blocks as songs grow and gets every one back.
// Generators on a FrameBatch end as they do alone (EOS, length, cancel). The paged ops against the
// dense ones they replace, bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/lm/mula_batch.h"
#include "engine/pipeline/generator.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

class MulaBatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hs_mula_batch_" + std::to_string(::getpid())));
    write_random_mula_folder(*dir_, demo_mula_config(kTextVocab), kCodes, 7);
    model_ = MulaModel::load(backend(), *dir_);
  }
  static void TearDownTestSuite() {
    model_.reset();
    fs::remove_all(*dir_);
    delete dir_;
  }
  static CpuBackend& backend() {
    static CpuBackend b;
    return b;
  }

  struct Song {
    Prompt prompt;
    SessionOptions options;
  };

  // A prompt of `length` random text ids (CFG: the same row twice, as MulaSession only needs the shape).
  static Song song(std::int64_t length, float cfg_scale, float temperature, int topk, std::uint64_t seed,
                   std::int64_t frames) {
    const std::int64_t batch = cfg_scale != 1.0f ? 2 : 1;
    Prompt p{Tensor::zeros({batch, length, kNumCodebooks + 1}, DType::I32),
             Tensor::zeros({batch, length, kNumCodebooks + 1}, DType::U8), 1};
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t i = 0; i < length; ++i) {
        const std::int64_t at = (b * length + i) * (kNumCodebooks + 1) + kNumCodebooks;
        p.tokens.data<std::int32_t>()[at] = static_cast<std::int32_t>(rng() % kTextVocab);
        p.mask.data<std::uint8_t>()[at] = 1;
      }
    // Each song blocks its own ids [32, 32 + seed), frame 0 also up to 48.
    const SamplingParams sampling{.temperature = temperature, .topk = topk, .cfg_scale = cfg_scale,
                                  .blocked_begin = 32, .blocked_end = 32 + static_cast<std::int32_t>(seed)};
    return {p, {sampling, seed, frames, 48}};
  }

  // A song's frames alone, and the guided logits of its last codebook per frame.
  struct Alone {
    std::vector<Frame> frames;
    std::vector<std::vector<float>> guided;
  };
  static Alone alone(const Song& s) {
    MulaSession session(*model_, s.prompt, s.options);
    Alone out;
    for (std::int64_t i = 0; i < s.options.max_frames; ++i) {
      Tensor guided;
      out.frames.push_back(*session.step({.guided_logits = &guided}));
      const float* last = guided.data<float>() + (kNumCodebooks - 1) * guided.dim(1);
      out.guided.emplace_back(last, last + guided.dim(1));
    }
    return out;
  }

  // MulaBatch::last_logits combined as the sampler does (Backend::sample).
  static std::vector<float> guided(const Tensor& logits, float cfg_scale) {
    const std::int64_t vocab = logits.dim(1);
    const float* l = logits.data<float>();
    std::vector<float> out(l, l + vocab);
    if (logits.dim(0) == 2)
      for (std::int64_t i = 0; i < vocab; ++i) out[i] = l[vocab + i] + (l[i] - l[vocab + i]) * cfg_scale;
    return out;
  }

  static constexpr std::int64_t kTextVocab = 300;
  static constexpr std::int64_t kCodes = 64;
  static fs::path* dir_;
  inline static std::shared_ptr<const MulaModel> model_;
};

fs::path* MulaBatchTest::dir_ = nullptr;

class MulaBatchKvTest : public MulaBatchTest, public ::testing::WithParamInterface<KvCache> {};

TEST_P(MulaBatchKvTest, SongsTogetherGiveTheFramesEachGivesAlone) {
  std::vector<Song> songs{
      song(11, 1.5f, 1.0f, 50, 1, 14),  // joins first
      song(6, 1.0f, 0.9f, 20, 2, 5),    // no CFG; ends early, its slot goes to song 3
      song(17, 2.0f, 1.0f, 1, 3, 9),    // greedy; joins after two steps
      song(4, 3.0f, 1.2f, 8, 4, 10),    // joins the reused slot
      song(9, 1.0f, 1.0f, 50, 5, 12),   // no CFG; leaves mid-song (a cancel)
  };
  for (Song& s : songs) s.options.kv_cache = GetParam();
  std::vector<Alone> expected;
  for (const Song& s : songs) expected.push_back(alone(s));
  if (GetParam() == KvCache::Fp8) {
    Song plain = songs[0];
    plain.options.kv_cache = KvCache::Auto;
    ASSERT_NE(alone(plain).guided, expected[0].guided) << "the fp8 cache must change the logits";
  }

  MulaBatch batch(*model_, {.slots = 4, .block_size = 4, .kv_cache = GetParam()});
  const std::int64_t all_blocks = batch.free_blocks();
  std::map<std::int64_t, std::size_t> song_in;  // slot → song
  std::vector<std::vector<Frame>> got(songs.size());
  auto join = [&](std::size_t i) {
    Frame first;
    const std::int64_t slot = batch.join(songs[i].prompt, songs[i].options, first);
    got[i].push_back(first);
    song_in[slot] = i;
    return slot;
  };
  join(0);
  const std::int64_t slot1 = join(1);
  join(4);
  for (int step = 0; !song_in.empty(); ++step) {
    if (step == 2) {
      EXPECT_EQ(join(2), 3) << "the lowest free slot";
    }
    for (const auto& [slot, frame] : batch.step()) {
      const std::size_t i = song_in.at(slot);
      got[i].push_back(frame);
      ASSERT_EQ(guided(batch.last_logits(slot), songs[i].options.sampling.cfg_scale),
                expected[i].guided[got[i].size() - 1])
          << "song " << i << " frame " << got[i].size() - 1 << ": logits differ from the song's alone";
    }
    for (auto it = song_in.begin(); it != song_in.end();) {
      const std::size_t i = it->second;
      const bool cancelled = i == 4 && got[i].size() == 6;
      if (static_cast<std::int64_t>(got[i].size()) == songs[i].options.max_frames || cancelled) {
        batch.leave(it->first);
        const bool reuse = i == 1;
        it = song_in.erase(it);
        if (reuse) {
          EXPECT_EQ(join(3), slot1) << "a freed slot is taken again";
        }
      } else {
        ++it;
      }
    }
  }
  for (std::size_t i = 0; i < songs.size(); ++i) {
    ASSERT_FALSE(got[i].empty());
    for (std::size_t t = 0; t < got[i].size(); ++t) ASSERT_EQ(got[i][t], expected[i].frames[t]) << "song " << i << " frame " << t;
  }
  EXPECT_EQ(got[4].size(), 6u);
  EXPECT_EQ(batch.songs(), 0);
  EXPECT_EQ(batch.free_blocks(), all_blocks) << "every block came back";
}

INSTANTIATE_TEST_SUITE_P(KvCache, MulaBatchKvTest, ::testing::Values(KvCache::Auto, KvCache::Fp8),
                         [](const auto& info) { return std::string(kv_cache_name(info.param)); });

TEST_F(MulaBatchTest, BlocksAreTakenAsTheSongGrowsAndReservedForItsWholeLength) {
  const Song s = song(6, 1.5f, 1.0f, 50, 9, 11);  // 6 + 10 positions: 4 blocks of 4 per row
  MulaBatch batch(*model_, {.slots = 2, .block_size = 4, .kv_blocks = 12});
  Frame first;
  const std::int64_t slot = batch.join(s.prompt, s.options, first);
  EXPECT_EQ(batch.unreserved_blocks(), 12 - 2 * 4);
  EXPECT_EQ(batch.free_blocks(), 12 - 2 * 2) << "6 prompt positions: 2 blocks per row";
  batch.step();  // position 6
  batch.step();  // position 7
  EXPECT_EQ(batch.free_blocks(), 8);
  batch.step();  // position 8 starts a block in both rows
  EXPECT_EQ(batch.free_blocks(), 6);
  try {
    batch.join(s.prompt, s.options, first);
    FAIL() << "a second song of 8 blocks joined beside 8 reserved of 12";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("needs 8 KV blocks, 4 of the 12"), std::string::npos) << e.what();
  }
  while (batch.frames_done(slot) < s.options.max_frames) batch.step();
  EXPECT_EQ(batch.free_blocks(), 12 - 2 * 4) << "the song took exactly what it reserved";
  batch.leave(slot);
  EXPECT_EQ(batch.unreserved_blocks(), 12);
  EXPECT_EQ(batch.join(s.prompt, s.options, first), 0) << "room again once the first song left";
}

// prepare_steps() takes every bucket of rows ahead (2, 4, 8, then the 10 rows of 5 slots), so
// songs joining step through no new one, and their frames are those of an unprepared batch.
TEST_F(MulaBatchTest, PreparedStepsCoverEveryBatchSize) {
  const auto frames = [&](MulaBatch& batch) {
    std::vector<Frame> out;
    Frame first;
    for (std::uint64_t i = 0; i < 5; ++i) {
      const Song s = song(5 + static_cast<std::int64_t>(i), i % 2 ? 1.0f : 1.5f, 1.0f, 50, 6 + i, 20);
      batch.join(s.prompt, s.options, first);
      for (const auto& [slot, frame] : batch.step()) out.push_back(frame);  // 1, 2, ..., 5 songs
    }
    return out;
  };
  MulaBatch prepared(*model_, {.slots = 5});
  prepared.prepare_steps();
  EXPECT_EQ(prepared.step_shapes(), 4);
  const std::vector<Frame> got = frames(prepared);
  EXPECT_EQ(prepared.step_shapes(), 4);
  MulaBatch fresh(*model_, {.slots = 5});
  EXPECT_EQ(fresh.step_shapes(), 0);
  EXPECT_EQ(frames(fresh), got);
  EXPECT_EQ(fresh.step_shapes(), 4) << "1 to 5 songs step in buckets of 2, 4, 8 and 10 rows";
}

TEST_F(MulaBatchTest, FullSlotsAndUnknownSlotsAreRefused) {
  const Song s = song(5, 1.0f, 1.0f, 50, 3, 4);
  MulaBatch batch(*model_, {.slots = 1});
  Frame first;
  batch.join(s.prompt, s.options, first);
  EXPECT_THROW(batch.join(s.prompt, s.options, first), InvalidArgument);
  EXPECT_THROW(batch.leave(1), InvalidArgument);
  batch.leave(0);
  EXPECT_THROW(batch.leave(0), InvalidArgument) << "left twice";
  Song bad = s;
  bad.options.sampling.cfg_scale = 1.5f;  // a 1-row prompt with CFG
  EXPECT_THROW(batch.join(bad.prompt, bad.options, first), InvalidArgument);
  EXPECT_EQ(batch.songs(), 0);
}

// Param: the FrameBatch's prefill budget (0: whole prompts; 4: prompts of 6..11 positions run over
// two or three rounds, songs that start together sharing the rounds' 4 positions).
class FrameBatchTest : public MulaBatchTest, public ::testing::WithParamInterface<std::int64_t> {};

TEST_P(FrameBatchTest, GeneratorsOnAFrameBatchEndAsTheyDoAlone) {
  // The codebook is the demo LM's 64 codes; ids [64, 8190) are never drawn, the EOS ids 8190… now
  // and then (their head rows are zero, like a middling code's logit).
  const GenConfig gen{0, 0, 8190, 0};
  std::vector<GenerationRequest> requests;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const float cfg = seed % 2 ? 1.5f : 1.0f;
    const int topk = seed == 3 ? 1 : 50;
    const Song s = song(5 + static_cast<std::int64_t>(seed), cfg, 1.0f, topk, seed, 1);
    requests.push_back({s.prompt, 24 * kFrameMs, {.temperature = 1.0f, .topk = topk, .cfg_scale = cfg}, seed, kCodes});
  }
  constexpr std::size_t kCancelled = 4;  // cancelled after its first frame (frame 0 never ends a song)
  int prefill_waits = 0;  // next() calls that returned no frame while the prompt was running
  auto run = [&](FrameBatch* batch) {
    std::vector<std::unique_ptr<Generator>> gens;
    for (const auto& r : requests) gens.push_back(std::make_unique<Generator>(model_, gen, r, batch));
    std::vector<std::vector<Frame>> frames(gens.size());
    std::vector<StopReason> reasons(gens.size());
    // Four songs at a time (the batch's slots); the next one starts when one ends.
    std::size_t started = 4, ended = 0;
    while (ended < gens.size()) {
      std::vector<Generator*> alive;
      for (std::size_t i = 0; i < started; ++i)
        if (!gens[i]->stop_reason()) alive.push_back(gens[i].get());
      if (batch) batch->step(alive);
      std::int64_t prompt_left = 0;
      for (std::size_t i = 0; i < started; ++i)
        if (gens[i]->prefilling()) prompt_left += batch->batch().prefill_left(gens[i]->slot());
      for (std::size_t i = 0; i < started; ++i) {
        if (gens[i]->stop_reason()) continue;
        if (const auto f = gens[i]->next()) {
          frames[i].push_back(*f);
          if (i == kCancelled && frames[i].size() == 1) gens[i]->cancel();
        } else if (gens[i]->prefilling()) {
          ++prefill_waits;
        } else {
          reasons[i] = *gens[i]->stop_reason();
          ++ended;
          started = std::min(started + 1, gens.size());
        }
      }
      if (batch && batch->prefill_budget() > 0) {  // the round ran at most the budget of prompts
        std::int64_t after = 0;
        for (std::size_t i = 0; i < started; ++i)
          if (gens[i]->prefilling()) after += batch->batch().prefill_left(gens[i]->slot());
        EXPECT_LE(prompt_left - after, batch->prefill_budget());
      }
    }
    return std::pair(frames, reasons);
  };
  FrameBatch batch(model_, {.slots = 4, .block_size = 4}, GetParam());
  const std::int64_t all_blocks = batch.batch().free_blocks();
  const auto [alone_frames, alone_reasons] = run(nullptr);
  const auto [frames, reasons] = run(&batch);
  EXPECT_EQ(frames, alone_frames);
  EXPECT_EQ(reasons, alone_reasons);
  EXPECT_EQ(reasons[kCancelled], StopReason::Cancelled);
  EXPECT_NE(std::count(reasons.begin(), reasons.end(), StopReason::Eos), 0) << "some song must end on EOS";
  std::size_t longest = 0;
  for (const auto& f : frames) longest = std::max(longest, f.size());
  EXPECT_GE(longest, 5u) << "songs must share several steps";
  EXPECT_EQ(batch.batch().songs(), 0);
  EXPECT_EQ(batch.batch().free_blocks(), all_blocks);
  if (GetParam() > 0) {
    EXPECT_GE(prefill_waits, 4) << "prompts must have run over several rounds";
  } else {
    EXPECT_EQ(prefill_waits, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(PrefillBudget, FrameBatchTest, ::testing::Values(0, 4));

TEST_F(MulaBatchTest, AGeneratorOnAFullBatchFailsAtItsFirstFrame) {
  FrameBatch batch(model_, {.slots = 1});
  const Song s = song(5, 1.0f, 1.0f, 50, 1, 1);
  const GenerationRequest r{s.prompt, 800, s.options.sampling, 1, 0};
  Generator first(model_, {0, 0, 8193, 0}, r, &batch), second(model_, {0, 0, 8193, 0}, r, &batch);
  ASSERT_TRUE(first.next());
  EXPECT_THROW(second.next(), InvalidArgument);
  EXPECT_THROW(first.next(), InvalidArgument) << "no frame was stepped for it";
}

// The paged ops against the dense ones: KV rows scattered over shuffled blocks.
class PagedOps : public ::testing::TestWithParam<DType> {};

TEST_P(PagedOps, MatchTheDenseCacheOpsBitForBit) {
  CpuBackend cpu;
  const DType cache_dtype = GetParam();
  constexpr std::int64_t kRows = 3, kKeys = 13, kHeads = 4, kKv = 2, kHd = 8, kBlock = 4;
  constexpr std::int64_t kBlocksPerRow = (kKeys + kBlock - 1) / kBlock, kBlocks = kRows * kBlocksPerRow + 2;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  auto random = [&](const Shape& shape) {
    Tensor t = Tensor::zeros(shape, DType::F32);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = normal(rng);
    return t;
  };
  std::vector<std::int32_t> order(kBlocks);
  for (std::int32_t i = 0; i < kBlocks; ++i) order[static_cast<std::size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  Tensor tables = Tensor::from_i32({kRows, kBlocksPerRow}, std::vector<std::int32_t>(order.begin(), order.begin() + kRows * kBlocksPerRow));
  Tensor inv_freq = Tensor::from_f32({kHd / 2}, {1.0f, 0.1f, 0.01f, 0.001f});

  // Every key of every row through rope_store (dense) and rope_store_paged (one token each).
  Tensor q = random({kRows, kKeys, kHeads, kHd}), k = random({kRows, kKeys, kKv, kHd}), v = random({kRows, kKeys, kKv, kHd});
  const ScaledTensor k_cache = alloc_kv(cpu, {kRows, kKeys, kKv, kHd}, cache_dtype);
  const ScaledTensor v_cache = alloc_kv(cpu, {kRows, kKeys, kKv, kHd}, cache_dtype);
  std::vector<std::int32_t> all_positions(kKeys);
  for (std::int32_t i = 0; i < kKeys; ++i) all_positions[static_cast<std::size_t>(i)] = i;
  Tensor dense_q = q.clone(), dense_k = k.clone();
  cpu.rope_store(dense_q, dense_k, v, Tensor::from_i32({kKeys}, all_positions), inv_freq, k_cache, v_cache);

  const std::int64_t n = kRows * kKeys;
  std::vector<std::int32_t> positions, slots, rows;
  for (std::int32_t r = 0; r < kRows; ++r)
    for (std::int32_t t = 0; t < kKeys; ++t) {
      positions.push_back(t);
      slots.push_back(tables.data<std::int32_t>()[r * kBlocksPerRow + t / kBlock] * kBlock + t % kBlock);
      rows.push_back(r);
    }
  const ScaledTensor k_pool = alloc_kv(cpu, {kBlocks, kBlock, kKv, kHd}, cache_dtype);
  const ScaledTensor v_pool = alloc_kv(cpu, {kBlocks, kBlock, kKv, kHd}, cache_dtype);
  Tensor paged_q = q.clone().reshape({n, kHeads, kHd}), paged_k = k.clone().reshape({n, kKv, kHd});
  const Tensor pos = Tensor::from_i32({n}, positions), kv_rows = Tensor::from_i32({n}, rows);
  cpu.rope_store_paged(paged_q, paged_k, v.reshape({n, kKv, kHd}), pos, inv_freq, Tensor::from_i32({n}, slots), k_pool,
                       v_pool);
  ASSERT_EQ(std::memcmp(paged_q.raw(), dense_q.raw(), dense_q.bytes()), 0);

  // Causal attention of every token over its own row, with one padding token (row −1) appended.
  Tensor dense_out = Tensor::zeros(q.shape(), DType::F32);
  for (std::int64_t r = 0; r < kRows; ++r) {
    Tensor out_r = dense_out.slice(r, r + 1);
    const Tensor positions_r = Tensor::from_i32({kKeys}, all_positions);
    cpu.attention(dense_q.slice(r, r + 1), k_cache.slice(r, r + 1), v_cache.slice(r, r + 1), &positions_r, out_r);
  }
  rows.push_back(-1);
  positions.push_back(0);
  Tensor q_pad = Tensor::zeros({n + 1, kHeads, kHd}, DType::F32);
  std::memcpy(q_pad.raw(), paged_q.raw(), paged_q.bytes());
  Tensor paged_out = random({n + 1, kHeads, kHd});
  cpu.paged_attention(q_pad, k_pool, v_pool, tables, Tensor::from_i32({n + 1}, rows), Tensor::from_i32({n + 1}, positions),
                      paged_out);
  EXPECT_EQ(std::memcmp(paged_out.raw(), dense_out.raw(), dense_out.bytes()), 0);
  for (std::int64_t i = n * kHeads * kHd; i < (n + 1) * kHeads * kHd; ++i) ASSERT_EQ(paged_out.data<float>()[i], 0.0f);

  // A table entry outside the pool is named.
  Tensor bad = tables.clone();
  bad.data<std::int32_t>()[0] = static_cast<std::int32_t>(kBlocks);
  EXPECT_THROW(cpu.paged_attention(q_pad, k_pool, v_pool, bad, Tensor::from_i32({n + 1}, rows),
                                   Tensor::from_i32({n + 1}, positions), paged_out),
               InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(CacheDtype, PagedOps, ::testing::Values(DType::F32, DType::F8_E4M3),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace hs
