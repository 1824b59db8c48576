// HeartCodec on the CPU backend: milliseconds of compute per second of audio.
//  - Tiny*: the golden tiny codec (../shared/golden/codec-tiny), the whole offline decode and its
//    parts; skipped when the shared folder is absent.
//  - Real*: the released codec's shapes (REFERENCE.md config) with random weights built in memory.
//    A whole 29.76 s window of the real DiT is minutes of CPU time, so RealEulerStep times one
//    Euler step (one estimator call, CFG batch 2) on a chunk of latent frames and *extrapolates*
//    to 10 steps per second of audio; the counter names say so.
// Every benchmark reports peak_rss_MiB: the process's peak resident set so far (benchmarks run in
// registration order, so it only grows).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/noise.h"
#include "engine/core/parallel.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/codec/flow_matching.h"
#include "engine/model/codec/offline_decode.h"
#include "engine/model/codec/scalar_decoder_stream.h"
#include "engine/model/demo/demo_checkpoint.h"

namespace hs {
namespace {

constexpr double kLatentFramesPerSecond = 25.0;
constexpr double kCodeFramesPerSecond = 12.5;
constexpr int kEulerSteps = 10;
constexpr std::int64_t kStereo = 2;
constexpr std::uint64_t kNoiseSeed = 1234;

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Wall-clock milliseconds per iteration of a benchmark loop (Google Benchmark's rate counters
// divide by the main thread's CPU time, which misses the BLAS and pool threads).
class WallClock {
 public:
  double ms_per_iteration(const benchmark::State& state) const {
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start_;
    return elapsed.count() / static_cast<double>(state.iterations());
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

void report(benchmark::State& state, const WallClock& clock, double audio_seconds_per_iteration) {
  state.counters["audio_s"] = audio_seconds_per_iteration;
  state.counters["ms_per_audio_s"] = clock.ms_per_iteration(state) / audio_seconds_per_iteration;
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

std::filesystem::path shared_dir() {
  const char* env = std::getenv("HEARTSTREAM_SHARED_DIR");
  return env && *env ? env : HEARTSTREAM_SHARED_DIR;
}

CpuBackend& backend() {
  static CpuBackend cpu;
  return cpu;
}

const CodecModel* tiny_codec() {
  static const std::unique_ptr<CodecModel> model = [] {
    const auto folder = shared_dir() / "golden" / "codec-tiny";
    return std::filesystem::exists(folder) ? std::make_unique<CodecModel>(CodecModel::load(backend(), folder))
                                           : nullptr;
  }();
  return model.get();
}

Tensor random_codes(std::int64_t quantizers, std::int64_t frames, std::int64_t codebook_size) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<std::int32_t> dist(0, static_cast<std::int32_t>(codebook_size - 1));
  Tensor codes = Tensor::zeros({quantizers, frames}, DType::I32);
  for (std::int64_t i = 0; i < codes.numel(); ++i) codes.data<std::int32_t>()[i] = dist(gen);
  return codes;
}

Tensor random_latents(std::int64_t frames, std::int64_t channels, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Tensor t = Tensor::zeros({frames, channels}, DType::F32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return backend().upload(t);
}

// ---- tiny golden codec -------------------------------------------------------------------------

void BM_TinyOfflineDecode(benchmark::State& state) {
  const CodecModel* model = tiny_codec();
  if (!model) return state.SkipWithError("shared/golden/codec-tiny absent (set HEARTSTREAM_SHARED_DIR)");
  const std::int64_t frames = state.range(0);
  const Tensor codes = random_codes(model->config().num_quantizers, frames, model->config().codebook_size);
  const WallClock clock;
  for (auto _ : state) {
    GaussianNoise noise(kNoiseSeed);
    benchmark::DoNotOptimize(decode_offline(*model, codes, noise).raw());
  }
  report(state, clock, static_cast<double>(frames) / kCodeFramesPerSecond);
}
BENCHMARK(BM_TinyOfflineDecode)->Arg(40)->Arg(700)->Unit(benchmark::kMillisecond)->UseRealTime();

// Flow matching of one 744-frame window (10 Euler steps, CFG): the DiT share of the offline decode.
void BM_TinyFlowWindow(benchmark::State& state) {
  const CodecModel* model = tiny_codec();
  if (!model) return state.SkipWithError("shared/golden/codec-tiny absent (set HEARTSTREAM_SHARED_DIR)");
  const Tensor features = model->flow().condition(
      random_codes(model->config().num_quantizers, kWindowCodeFrames, model->config().codebook_size));
  const WallClock clock;
  for (auto _ : state) {
    GaussianNoise noise(kNoiseSeed);
    benchmark::DoNotOptimize(model->flow().sample(features, Tensor{}, noise).raw());
  }
  report(state, clock, static_cast<double>(features.dim(0)) / kLatentFramesPerSecond);
}
BENCHMARK(BM_TinyFlowWindow)->Unit(benchmark::kMillisecond)->UseRealTime();

// The start noise of one batched streaming call (draw_start_noise) at the released shapes: songs'
// 16-frame chunks with 16 frames of context, 64 latent frames of 256 channels, 32 of them in
// context. The GPU waits for it: host time per codec round.
void BM_StartNoise(benchmark::State& state) {
  constexpr std::int64_t kFrames = 64, kContext = 32, kChannels = 256;
  const std::int64_t songs = state.range(0);
  std::vector<std::unique_ptr<GaussianNoise>> sources;
  std::vector<NoiseSource*> noises;
  for (std::int64_t s = 0; s < songs; ++s) {
    sources.push_back(std::make_unique<GaussianNoise>(kNoiseSeed + static_cast<std::uint64_t>(s)));
    noises.push_back(sources.back().get());
  }
  for (auto _ : state) benchmark::DoNotOptimize(draw_start_noise(noises, kFrames, kContext, kChannels).raw());
  state.counters["threads"] = parallel_threads();
}
BENCHMARK(BM_StartNoise)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

// The scalar decoder on one 744-frame stereo window: the decoder share of the offline decode.
void BM_TinyScalarDecodeWindow(benchmark::State& state) {
  const CodecModel* model = tiny_codec();
  if (!model) return state.SkipWithError("shared/golden/codec-tiny absent (set HEARTSTREAM_SHARED_DIR)");
  const ScalarDecoder& decoder = model->decoder();
  const std::int64_t frames = 2 * kWindowCodeFrames;
  const Tensor latent = decoder.split_channels(random_latents(frames, kStereo * decoder.latent_channels(), 1));
  const WallClock clock;
  for (auto _ : state) benchmark::DoNotOptimize(decoder.decode(latent).raw());
  report(state, clock, static_cast<double>(frames) / kLatentFramesPerSecond);
}
BENCHMARK(BM_TinyScalarDecodeWindow)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- real codec shapes, random weights ----------------------------------------------------------

// HeartCodec-oss/config.json values (REFERENCE.md "The codec"), as make-demo-model --shapes 3B writes them.
CodecConfig real_config() { return demo_checkpoint_plan(DemoShapes::Released3B).codec; }

// Random tensors under the names and shapes (codec_tensor_shapes) that start with `prefix`.
// Tensors of one shape share one buffer (the values do not matter for timing), so building them is
// cheap; the model still converts each name into its own backend tensor, as a real load does.
NamedTensors random_tensors(const CodecConfig& config, std::string_view prefix) {
  std::mt19937 gen(11);
  std::map<Shape, Tensor> pool;
  NamedTensors out;
  for (const auto& [name, shape] : codec_tensor_shapes(config)) {
    if (!name.starts_with(prefix)) continue;
    auto it = pool.find(shape);
    if (it == pool.end()) {
      // Uniform with variance 1/fan_in, so activations stay in range through deep stacks.
      const std::int64_t fan_in = shape.size() > 1 ? shape_numel(shape) / shape[0] : 1;
      const auto bound = static_cast<float>(shape.size() > 1 ? std::sqrt(3.0 / static_cast<double>(fan_in)) : 0.1);
      std::uniform_real_distribution<float> dist(-bound, bound);
      Tensor t = Tensor::zeros(shape, DType::F32);
      for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
      it = pool.emplace(shape, t).first;
    }
    out.emplace(name, it->second);
  }
  return out;
}

// One Euler step of the real DiT with CFG (estimator batch 2) on state.range(0) latent frames;
// the ms-per-audio-second counter extrapolates linearly to the 10 steps of a full decode. Attention
// grows quadratically with the frames, so for a full 744-frame window this is a lower bound.
void BM_RealEulerStep(benchmark::State& state) {
  const CodecConfig config = real_config();
  const Estimator estimator(backend(), CodecWeightLoader(backend(), random_tensors(config, "flow_matching.estimator."), Precision::F32),
                            config);
  const std::int64_t frames = state.range(0);
  auto scratch = estimator.make_scratch(2, frames);
  std::mt19937 gen(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Tensor x = Tensor::zeros({2, frames, estimator.in_channels()}, DType::F32);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(gen);
  const Tensor input = backend().upload(x), t = backend().upload(Tensor::from_f32({2}, {0.3f, 0.3f}));
  Tensor out = backend().alloc({2, frames, estimator.out_channels()}, DType::F32);
  const WallClock clock;
  for (auto _ : state) estimator.forward(input, t, *scratch, out);
  const double seconds = static_cast<double>(frames) / kLatentFramesPerSecond;
  const double step_ms = clock.ms_per_iteration(state);
  state.counters["step_audio_s"] = seconds;
  state.counters["step_ms"] = step_ms;
  state.counters["extrapolated_10_steps_ms_per_audio_s"] = kEulerSteps * step_ms / seconds;
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK(BM_RealEulerStep)->Arg(50)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

std::unique_ptr<ScalarDecoder> real_decoder() {
  const CodecConfig config = real_config();
  return std::make_unique<ScalarDecoder>(
      backend(), CodecWeightLoader(backend(), random_tensors(config, "scalar_model.decoder."), Precision::F32), config);
}

// The real scalar decoder, one call on state.range(0) stereo latent frames.
void BM_RealScalarDecode(benchmark::State& state) {
  const auto decoder = real_decoder();
  const std::int64_t frames = state.range(0);
  const Tensor latent = decoder->split_channels(random_latents(frames, kStereo * decoder->latent_channels(), 2));
  const WallClock clock;
  for (auto _ : state) benchmark::DoNotOptimize(decoder->decode(latent).raw());
  report(state, clock, static_cast<double>(frames) / kLatentFramesPerSecond);
}
BENCHMARK(BM_RealScalarDecode)->Arg(50)->Unit(benchmark::kMillisecond)->UseRealTime();

// The real scalar decoder streamed in chunks of state.range(0) latent frames (2 s in total).
void BM_RealScalarDecodeStream(benchmark::State& state) {
  const auto decoder = real_decoder();
  const std::int64_t chunk = state.range(0), chunks = 50 / chunk;
  const Tensor latent = decoder->split_channels(random_latents(chunk, kStereo * decoder->latent_channels(), 3));
  const WallClock clock;
  for (auto _ : state) {
    ScalarDecoderStream stream(*decoder, kStereo);
    for (std::int64_t i = 0; i < chunks; ++i) benchmark::DoNotOptimize(stream.push(latent).raw());
    benchmark::DoNotOptimize(stream.finish().raw());
  }
  report(state, clock, static_cast<double>(chunk * chunks) / kLatentFramesPerSecond);
}
BENCHMARK(BM_RealScalarDecodeStream)->Arg(5)->Arg(25)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace hs

BENCHMARK_MAIN();
