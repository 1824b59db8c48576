// Generator: golden frames through the request API (cfg, no cfg, cfg again in one process), the
// max_audio_length_ms → frames relation, EOS, cancel from another thread, seeded sampling.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <thread>

#include "engine/core/error.h"
#include "engine/pipeline/generator.h"
#include "tests/lm/golden_case.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

constexpr GenConfig kTinyGen{128000, 128001, 69, 0};  // golden/gen_config.json

struct Loaded {
  std::shared_ptr<const MulaModel> model;
  test::LmGolden golden;
  test::LmCaseInfo info;
};

std::optional<Loaded> load_case(std::size_t index) {
  const auto& info = test::lm_cases()[index];
  const auto file = test::shared_path("golden/" + info.name + ".safetensors");
  if (!file) return std::nullopt;
  return Loaded{test::tiny_model(file->parent_path()), test::load_lm_golden(*file), info};
}

GenerationRequest greedy_request(const Loaded& c) {
  // frames = 1 + max_audio_length_ms / 80: the golden runs had max_audio_length_ms = (T − 1)·80.
  return {c.golden.prompt, (c.info.frames - 1) * kFrameMs, {.temperature = 1.0f, .topk = 1, .cfg_scale = c.info.cfg_scale}, 0};
}

std::vector<Frame> collect(Generator& g) {
  std::vector<Frame> out;
  g.run([&](const Frame& f) { out.push_back(f); });
  return out;
}

#define HS_REQUIRE_LM_CASES(cfg, nocfg)                                                   \
  const auto cfg = load_case(0);                                                          \
  const auto nocfg = load_case(1);                                                        \
  if (!cfg || !nocfg) GTEST_SKIP() << "shared data absent: golden/mula_*.safetensors"

TEST(Generator, FramesForLength) {
  EXPECT_EQ(max_frames_for(0), 1);
  EXPECT_EQ(max_frames_for(79), 1);
  EXPECT_EQ(max_frames_for(80), 2);
  EXPECT_EQ(max_frames_for(23 * kFrameMs), 24);
  EXPECT_EQ(max_frames_for(240000), 3001);
  EXPECT_THROW(max_frames_for(-1), InvalidArgument);
}

TEST(Generator, CfgThenNoCfgThenCfgInOneProcess) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  for (const Loaded* c : {&*cfg, &*nocfg, &*cfg}) {
    Generator g(c->model, kTinyGen, greedy_request(*c));
    const std::vector<Frame> frames = collect(g);
    ASSERT_EQ(static_cast<std::int64_t>(frames.size()), c->info.frames) << c->info.name;
    for (std::size_t t = 0; t < frames.size(); ++t)
      ASSERT_EQ(frames[t], test::golden_frame(c->golden.frames, static_cast<std::int64_t>(t))) << c->info.name << " " << t;
    EXPECT_EQ(g.stop_reason(), StopReason::Length);
    EXPECT_FALSE(g.next().has_value()) << "a finished stream stays finished";
  }
}

std::int64_t frames_until_eos(const Loaded& c, std::int32_t eos) {
  GenConfig gen = kTinyGen;
  gen.audio_eos_id = eos;
  Generator g(c.model, gen, greedy_request(c));
  const std::int64_t n = static_cast<std::int64_t>(collect(g).size());
  EXPECT_EQ(g.stop_reason(), StopReason::Eos);
  return n;
}

TEST(Generator, StopsBeforeTheFirstFrameWithAnEosToken) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  // An EOS id such that golden frame `stop` (> 2) is the first frame after frame 0 holding a
  // token ≥ it.
  const Tensor& frames = nocfg->golden.frames;
  auto frame_max = [&](std::int64_t t) {
    const Frame f = test::golden_frame(frames, t);
    return *std::max_element(f.begin(), f.end());
  };
  std::int32_t seen_max = -1, eos = 0;
  std::int64_t stop = -1;
  for (std::int64_t t = 1; t < frames.dim(1) && stop < 0; ++t) {
    if (t > 2 && frame_max(t) > seen_max) stop = t, eos = frame_max(t);
    seen_max = std::max(seen_max, frame_max(t));
  }
  ASSERT_GT(stop, 0) << "golden frames give no usable EOS id";
  EXPECT_EQ(frames_until_eos(*nocfg, eos), stop);
  // Frame 0 is kept even when it holds an EOS token (the reference only checks later frames).
  EXPECT_EQ(frames_until_eos(*nocfg, frame_max(0)), 1);
}

// A codec whose codebook is smaller than the LM's audio vocabulary (the released pair: 8192 against
// 8197): ids from its size up to the EOS id are never sampled, so every frame decodes; ids at or
// above EOS still end the song. Here a codebook of 8 of the tiny model's 69 ids.
TEST(Generator, IdsPastTheCodebookAreNeverSampled) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  constexpr std::int64_t kCodebook = 8;
  auto max_code = [&](std::int64_t codebook_size) {
    GenerationRequest r{cfg->golden.prompt, 40 * kFrameMs, {.temperature = 1.5f, .topk = 60, .cfg_scale = cfg->info.cfg_scale}, 5};
    r.codebook_size = codebook_size;
    Generator g(cfg->model, kTinyGen, r);
    std::int32_t most = 0;
    for (const Frame& f : collect(g)) most = std::max(most, *std::max_element(f.begin(), f.end()));
    EXPECT_NE(g.stop_reason(), StopReason::Cancelled);
    return most;
  };
  ASSERT_GE(max_code(0), kCodebook) << "without the mask this model samples ids past the codebook";
  EXPECT_LT(max_code(kCodebook), kCodebook);
  GenerationRequest bad = greedy_request(*cfg);
  bad.codebook_size = -1;
  EXPECT_THROW(Generator(cfg->model, kTinyGen, bad), InvalidArgument);
}

TEST(Generator, CancelFromAnotherThread) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  constexpr std::int64_t kCancelAfter = 3;
  GenerationRequest request = greedy_request(*cfg);
  request.max_audio_length_ms = 500 * kFrameMs;
  Generator g(cfg->model, kTinyGen, request);
  std::promise<void> reached, cancelled;
  std::thread canceller([&] {
    reached.get_future().wait();
    g.cancel();
    cancelled.set_value();
  });
  std::int64_t seen = 0;
  const StopReason reason = g.run([&](const Frame&) {
    if (++seen == kCancelAfter) {
      reached.set_value();
      cancelled.get_future().wait();  // the next frame must not start
    }
  });
  canceller.join();
  EXPECT_EQ(reason, StopReason::Cancelled);
  EXPECT_EQ(seen, kCancelAfter);
  EXPECT_EQ(g.frames_emitted(), kCancelAfter);
}

TEST(Generator, CancelInsideAFrameStopsBetweenDepthSteps) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  MulaSession session(*cfg->model, cfg->golden.prompt, {{.topk = 1, .cfg_scale = 1.5f}, 0, 4});
  const std::atomic<bool> flag{true};
  EXPECT_FALSE(session.step({.cancel = &flag}).has_value());
  EXPECT_EQ(session.frames_done(), 0);
  EXPECT_THROW(session.step(), InvalidArgument) << "a cancelled session cannot continue";
}

TEST(Generator, SeededSamplingIsReproducible) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  auto run = [&](const Loaded& c, std::uint64_t seed) {
    GenerationRequest r{c.golden.prompt, 11 * kFrameMs, {.temperature = 1.0f, .topk = 20, .cfg_scale = c.info.cfg_scale}, seed};
    Generator g(c.model, GenConfig{0, 0, 1 << 30, 0}, r);  // EOS disabled: always 12 frames
    return collect(g);
  };
  for (const Loaded* c : {&*cfg, &*nocfg}) {
    const auto a = run(*c, 42);
    EXPECT_EQ(a.size(), 12u);
    EXPECT_EQ(a, run(*c, 42)) << c->info.name;
    EXPECT_NE(a, run(*c, 43)) << c->info.name;
  }
}

TEST(Generator, RejectsMismatchedRequests) {
  HS_REQUIRE_LM_CASES(cfg, nocfg);
  GenerationRequest r = greedy_request(*nocfg);
  r.sampling.cfg_scale = 1.5f;  // a 1-row prompt cannot do CFG
  EXPECT_THROW(Generator(nocfg->model, kTinyGen, r), InvalidArgument);
  r = greedy_request(*cfg);
  r.max_audio_length_ms = 2000 * kFrameMs;  // beyond llama-tiny's 1024 positions
  EXPECT_THROW(Generator(cfg->model, kTinyGen, r), InvalidArgument);
}

}  // namespace
}  // namespace hs
