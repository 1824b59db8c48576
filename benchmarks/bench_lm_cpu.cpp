// HeartMuLa on the CPU backend: ms per frame (steady-state decode step, CFG batch 2) and prefill
// time for a short prompt, for the tiny golden model and for the released shapes (llama-3B
// backbone + llama-300M decoder, built in memory from random weights). Peak RSS as a counter.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "engine/core/parallel.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/lm/mula_model.h"
#include "engine/model/lm/mula_session.h"

namespace hs {
namespace {

constexpr std::int64_t kPromptLength = 64;    // a short prompt (tags + lyrics of a few lines)
constexpr std::int64_t kSessionFrames = 512;  // KV cache per session (then a fresh session)
constexpr float kCfgScale = 1.5f;
constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMemoryMarginGiB = 4.0;  // left to the rest of the machine (shared with others)

CpuBackend& backend() {
  static CpuBackend cpu;
  return cpu;
}

double peak_rss_gib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0 / kBytesPerGiB;  // ru_maxrss is in KiB
}

double available_gib() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  double kib = 0;
  while (meminfo >> key >> kib >> unit)  // "MemAvailable: 123456 kB"
    if (key == "MemAvailable:") return kib * 1024.0 / kBytesPerGiB;
  return 0;
}

// Random weights of a config's shapes, made on demand (so only one source tensor exists at a
// time): norm scales 1, linear weights uniform ±1/sqrt(in), embeddings uniform ±0.02.
class RandomWeights final : public WeightSource {
 public:
  RandomWeights(const MulaConfig& config, const MulaFlavors& flavors) {
    for (auto& [name, shape] : mula_tensor_shapes(config, flavors)) shapes_.emplace(name, shape);
  }
  bool contains(const std::string& name) const override { return shapes_.count(name) != 0; }
  std::string describe() const override { return "random weights"; }
  Tensor get(const std::string& name) const override {
    const Shape& shape = shapes_.at(name);
    Tensor t = Tensor::zeros(shape, DType::F32);
    float* v = t.data<float>();
    const bool norm = name.ends_with(".scale");
    const bool embedding = name.find("embedding") != std::string::npos;
    const float amplitude = embedding ? 0.02f : 1.0f / std::sqrt(static_cast<float>(shape.back()));
    std::uint64_t state = std::hash<std::string>{}(name) | 1;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      if (norm) {
        v[i] = 1.0f;
        continue;
      }
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;  // xorshift64
      v[i] = amplitude * (static_cast<float>(state >> 40) / 8388608.0f - 1.0f);
    }
    return t;
  }

 private:
  std::map<std::string, Shape> shapes_;
};

MulaConfig real_config() { return {"llama-3B", "llama-300M", 128256, 8197, 8, 512}; }
constexpr std::int64_t kRealBackboneLayers = 28;

// fp32 bytes of all weights.
double weight_gib(const MulaConfig& config, const MulaFlavors& flavors) {
  double n = 0;
  for (const auto& [name, shape] : mula_tensor_shapes(config, flavors)) n += static_cast<double>(shape_numel(shape));
  return n * 4.0 / kBytesPerGiB;
}

// A CFG prompt of kPromptLength text tokens (ids spread over the vocabulary).
Prompt cfg_prompt(const MulaConfig& config) {
  Prompt p{Tensor::zeros({2, kPromptLength, 9}, DType::I32), Tensor::zeros({2, kPromptLength, 9}, DType::U8), 8};
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t i = 0; i < kPromptLength; ++i) {
      p.tokens.data<std::int32_t>()[(b * kPromptLength + i) * 9 + 8] =
          static_cast<std::int32_t>((i * 7919) % config.text_vocab_size);
      p.mask.data<std::uint8_t>()[(b * kPromptLength + i) * 9 + 8] = 1;
    }
  return p;
}

SessionOptions session_options(const MulaModel& model) {
  return {{.temperature = 1.0f, .topk = 50, .cfg_scale = kCfgScale}, 1,
          std::min(kSessionFrames, model.backbone().max_seq_len - kPromptLength + 1)};
}

// The tiny golden model (layers = 0) or the released shapes with `layers` backbone layers; one
// model is kept at a time. Null (and why_not) when impossible.
std::shared_ptr<const MulaModel> model_for(std::int64_t layers, std::string& why_not) {
  static std::pair<std::int64_t, std::shared_ptr<const MulaModel>> cached{-1, nullptr};
  if (cached.first == layers) return cached.second;
  cached = {-1, nullptr};  // release the previous model before building the next
  if (layers == 0) {
    const char* env = std::getenv("HEARTSTREAM_SHARED_DIR");
    const std::filesystem::path shared = env && *env ? env : HEARTSTREAM_SHARED_DIR;
    if (!std::filesystem::exists(shared / "golden/mula-tiny")) {
      why_not = "golden/mula-tiny absent (set HEARTSTREAM_SHARED_DIR)";
      return nullptr;
    }
    cached = {layers, MulaModel::load(backend(), shared / "golden/mula-tiny")};
    return cached.second;
  }
  const MulaConfig config = real_config();
  MulaFlavors flavors = mula_flavors(config);
  flavors.backbone.layers = layers;
  const double need = weight_gib(config, flavors) + kMemoryMarginGiB, have = available_gib();
  if (need > have) {
    why_not = std::to_string(layers) + " backbone layers need " + std::to_string(need) + " GiB, " +
              std::to_string(have) + " GiB available";
    return nullptr;
  }
  cached = {layers, std::make_shared<const MulaModel>(backend(), config, flavors, RandomWeights(config, flavors))};
  return cached.second;
}

// Fastest ms of each (benchmark, backbone layers) run, for the per-layer extrapolation.
std::map<std::pair<std::string, std::int64_t>, double>& results() {
  static std::map<std::pair<std::string, std::int64_t>, double> r;
  return r;
}

// min_ms: the fastest iteration (least disturbed by other load on a shared machine).
void report(benchmark::State& state, const MulaModel& model, const std::string& kind, std::int64_t layers,
            double min_ms) {
  state.counters["peak_rss_GiB"] = peak_rss_gib();
  state.counters["weights_GiB"] = weight_gib(model.config(), {model.backbone(), model.decoder()});
  state.counters["threads"] = parallel_threads();
  state.counters["min_ms"] = min_ms;
  if (layers == 0) return;
  const double ms = min_ms;
  results()[{kind, layers}] = ms;
  state.counters["backbone_layers"] = static_cast<double>(layers);
  // Linear in the layer count: the slope between this run and the one at twice the depth.
  const auto twice = results().find({kind, 2 * layers});
  if (twice != results().end()) {
    const double per_layer = (twice->second - ms) / static_cast<double>(layers);
    state.counters["ms_per_backbone_layer"] = per_layer;
    state.counters["ms_extrapolated_to_28_layers"] =
        twice->second + per_layer * static_cast<double>(kRealBackboneLayers - 2 * layers);
  }
}

// Shortened backbones are only measured when the full depth did not fit.
bool full_depth_measured(const std::string& kind, std::int64_t layers) {
  return layers > 0 && layers < kRealBackboneLayers && results().count({kind, kRealBackboneLayers}) != 0;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Steady-state decode: one frame (backbone step + codebook 0 + 7 depth steps), CFG batch 2.
void BM_DecodeFrame(benchmark::State& state, std::int64_t layers) {
  if (full_depth_measured("decode", layers)) return state.SkipWithError("not needed: 28 layers were measured");
  std::string why_not;
  const auto model = model_for(layers, why_not);
  if (!model) return state.SkipWithError(why_not.c_str());
  const Prompt prompt = cfg_prompt(model->config());
  auto session = std::make_unique<MulaSession>(*model, prompt, session_options(*model));
  session->step();  // prefill + frame 0
  double min_ms = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    if (session->frames_done() == session_options(*model).max_frames) {
      state.PauseTiming();
      session = std::make_unique<MulaSession>(*model, prompt, session_options(*model));
      session->step();
      state.ResumeTiming();
    }
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(session->step());
    min_ms = std::min(min_ms, elapsed_ms(start));
  }
  report(state, *model, "decode", layers, min_ms);
}

// Prefill of a kPromptLength-token CFG prompt, including frame 0's depth decode.
void BM_PrefillAndFirstFrame(benchmark::State& state, std::int64_t layers) {
  if (full_depth_measured("prefill", layers)) return state.SkipWithError("not needed: 28 layers were measured");
  std::string why_not;
  const auto model = model_for(layers, why_not);
  if (!model) return state.SkipWithError(why_not.c_str());
  const Prompt prompt = cfg_prompt(model->config());
  double min_ms = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    state.PauseTiming();
    MulaSession session(*model, prompt, session_options(*model));
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(session.step());
    min_ms = std::min(min_ms, elapsed_ms(start));
  }
  state.counters["prompt_tokens"] = kPromptLength;
  report(state, *model, "prefill", layers, min_ms);
}

BENCHMARK_CAPTURE(BM_DecodeFrame, tiny_golden, 0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_PrefillAndFirstFrame, tiny_golden, 0)->Unit(benchmark::kMillisecond)->UseRealTime();
// Released shapes (llama-3B backbone, llama-300M decoder, random weights): the full 28 layers when
// memory allows; otherwise 14 and 7 layers, extrapolated per layer to 28 (counters say so).
BENCHMARK_CAPTURE(BM_DecodeFrame, real_shapes_28_layers, 28)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_CAPTURE(BM_PrefillAndFirstFrame, real_shapes_28_layers, 28)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_DecodeFrame, real_shapes_14_layers, 14)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_CAPTURE(BM_PrefillAndFirstFrame, real_shapes_14_layers, 14)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_DecodeFrame, real_shapes_7_layers, 7)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_CAPTURE(BM_PrefillAndFirstFrame, real_shapes_7_layers, 7)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

}  // namespace
}  // namespace hs

BENCHMARK_MAIN();
