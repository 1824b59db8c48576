// HeartCodec on the CUDA backend at the released shapes (REFERENCE.md "The codec") with seeded
// random weights (random_codec_weights, uncalibrated: the audio's level does not change the time),
// one model per precision (fp32 | bf16 | fp8) on the codec backend make_model_backends gives users.
// The model calls enqueue on the backend's own stream, so each timed call is bracketed by
// synchronize() and its wall time is the manual time; the copy runs on a stream of its own and is
// timed with CUDA events. Model-level benchmarks report the backend's peak device memory so far
// (benchmarks run in registration order, so it only grows). Summarise with summarize_codec_cuda.py.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/gpu/cuda_event_timing.h"
#include "engine/backends/backend_factory.h"
#include "engine/core/noise.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/codec/offline_decode.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/demo/demo_weights.h"
#include "engine/pipeline/codec_batch.h"
#include "engine/pipeline/streaming_decoder.h"
#include "kernels/cuda_check.h"

namespace hs {
namespace {

constexpr double kGiga = 1e9;
constexpr double kLatentFramesPerSecond = 25.0;
constexpr double kCodeFrameMs = 80.0;
constexpr std::int64_t kLatentsPerCodeFrame = 2;
constexpr std::int64_t kGuidanceBatch = 2;                           // the estimator's (cond, uncond) batch
constexpr std::int64_t kWindowLatentFrames = 2 * kWindowCodeFrames;  // 744: one offline window
constexpr std::int64_t kContextCodeFrames = 16;                      // the streaming decoder's default
constexpr std::int64_t kOfflineCodeFrames = 375;                     // 30 s: two offline windows
constexpr float kFlowTime = 0.3f;                                    // any t in [0, 1) costs the same
constexpr std::uint64_t kSeed = 1234;
constexpr std::string_view kEstimatorPrefix = "flow_matching.estimator.";
// Ceiling GEMM [M, K] x [N, K]ᵀ: larger than any codec linear, so its rate is the attainable peak.
constexpr std::int64_t kCeilingM = 4096, kCeilingN = 8192, kCeilingK = 8192;
constexpr int kCeilingLaunches = 10;  // per synchronize() pair, so the wait is noise
constexpr std::size_t kCopyBytes = std::size_t{1} << 30;

const CodecConfig& released_config() {
  static const CodecConfig config = demo_checkpoint_plan(DemoShapes::Released3B).codec;
  return config;
}

Tensor gaussian(const Shape& shape, std::uint64_t seed) {
  Tensor t = Tensor::zeros(shape, DType::F32);
  GaussianNoise(seed).fill(t);
  return t;
}

// Host I32 [num_quantizers, frames] of uniform codebook ids.
Tensor random_codes(std::int64_t frames) {
  const CodecConfig& c = released_config();
  std::mt19937 gen(kSeed);
  std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(c.codebook_size - 1));
  Tensor codes = Tensor::zeros({c.num_quantizers, frames}, DType::I32);
  for (std::int64_t i = 0; i < codes.numel(); ++i) codes.data<std::int32_t>()[i] = id(gen);
  return codes;
}

ModelBackends codec_backends(Precision precision) {
  return make_model_backends({.device = Device::Cpu, .codec_device = Device::Cuda, .codec_precision = precision});
}

struct LoadedCodec {
  ModelBackends backends;  // .codec runs the model (.lm is an idle CPU backend)
  std::unique_ptr<CodecModel> model;
  Backend& backend() const { return *backends.codec; }
  double peak_gb() const {
    return static_cast<double>(dynamic_cast<CudaBackend&>(backend()).peak_allocated_bytes()) / kGiga;
  }
};

// The models loaded so far, one per precision; main() releases them before the CUDA runtime unloads.
std::map<Precision, LoadedCodec>& loaded_codecs() {
  static std::map<Precision, LoadedCodec> models;
  return models;
}

// The model of one precision, built on first use (1.45 G parameters: seconds) and kept.
LoadedCodec& codec(Precision precision) {
  static const NamedTensors weights = [] {
    NamedTensors tensors;
    random_codec_weights(released_config(), kSeed,
                         [&](const std::string& name, const Tensor& t) { tensors.emplace(name, t); });
    return tensors;
  }();
  LoadedCodec& m = loaded_codecs()[precision];
  if (!m.model) {
    m.backends = codec_backends(precision);
    m.model = std::make_unique<CodecModel>(m.backend(), weights, released_config(), precision);
  }
  return m;
}

// FLOPs of one estimator call on [batch, frames]: 2 · weights · rows for every linear and k3 conv
// (rows = batch · frames; the timestep and AdaLN linears see one row per batch item), plus
// 4 · B · T² · D per attention (QKᵀ and PV). Norms, modulation and softmax are left out.
double estimator_flop(std::int64_t batch, std::int64_t frames) {
  const CodecConfig& c = released_config();
  double flop = 0.0;
  for (const auto& [name, shape] : codec_tensor_shapes(c)) {
    if (!name.starts_with(kEstimatorPrefix) || shape.size() < 2 || name.find("scale_shift_table") != std::string::npos)
      continue;  // biases, norm scales and modulation tables are added, not multiplied
    const bool per_item = name.find("adaln_single") != std::string::npos;
    flop += 2.0 * static_cast<double>(shape_numel(shape)) * static_cast<double>(per_item ? batch : batch * frames);
  }
  const std::int64_t d = c.num_attention_heads * c.attention_head_dim;  // the second stack is 2·d wide
  const auto attention_width = static_cast<double>(c.num_layers * d + c.num_layers_2 * 2 * d);
  return flop + 4.0 * static_cast<double>(batch * frames * frames) * attention_width;
}

// Mean wall milliseconds of `timed` per iteration, each call bracketed by synchronize() and
// reported as the manual time; `untimed` runs before each call, and one warm-up round (plans,
// graph capture) precedes the loop when `warm_up`.
double time_synchronized(benchmark::State& state, Backend& backend, const std::function<void()>& timed,
                         const std::function<void()>& untimed = {}, bool warm_up = true) {
  if (warm_up) {
    if (untimed) untimed();
    timed();
  }
  double total_ms = 0.0;
  for (auto _ : state) {
    if (untimed) untimed();
    backend.synchronize();
    const auto start = std::chrono::steady_clock::now();
    timed();
    backend.synchronize();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(ms / 1e3);
    total_ms += ms;
  }
  return total_ms / static_cast<double>(state.iterations());
}

void report(benchmark::State& state, const LoadedCodec& m, Precision precision, double ms, double flop = 0.0) {
  state.SetLabel(std::string(precision_name(precision)));
  state.counters["ms"] = ms;
  state.counters["peak_mem_gb"] = m.peak_gb();
  if (flop <= 0.0) return;
  state.counters["GFLOP"] = flop / kGiga;
  state.counters["TFLOP/s"] = flop / (ms / 1e3) / 1e12;
}

// args: precision, latent frames. One estimator call (no graph) on the CFG batch.
void BM_EstimatorStep(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t frames = state.range(1);
  LoadedCodec& m = codec(precision);
  Backend& be = m.backend();
  const Estimator& estimator = m.model->flow().estimator();
  auto scratch = estimator.make_scratch(kGuidanceBatch, frames);
  const Tensor x = be.upload(gaussian({kGuidanceBatch, frames, estimator.in_channels()}, 1));
  const Tensor t = be.upload(Tensor::from_f32({kGuidanceBatch}, {kFlowTime, kFlowTime}));
  Tensor out = be.alloc({kGuidanceBatch, frames, estimator.out_channels()}, DType::F32);
  const double ms = time_synchronized(state, be, [&] { estimator.forward(x, t, *scratch, out); });
  report(state, m, precision, ms, estimator_flop(kGuidanceBatch, frames));
}

// args: precision, latent frames, in-context latent frames. One whole flow-matching solve into a
// reused workspace (its graph captured in the warm-up call), as the streaming decoder runs it.
void BM_FlowSample(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t frames = state.range(1), context = state.range(2);
  LoadedCodec& m = codec(precision);
  Backend& be = m.backend();
  const FlowMatcher& flow = m.model->flow();
  const Tensor features = flow.condition(random_codes(frames / kLatentsPerCodeFrame));
  const Tensor prefix = context > 0 ? be.upload(gaussian({context, flow.latent_channels()}, 2)) : Tensor();
  const FlowSchedule schedule;
  auto workspace = flow.make_workspace(frames, context, schedule);
  GaussianNoise noise(kSeed);
  const double ms = time_synchronized(state, be, [&] { flow.sample(features, prefix, noise, *workspace); });
  report(state, m, precision, ms, schedule.steps * estimator_flop(kGuidanceBatch, frames));
}

// The estimator's and the flow solve's shapes: the offline window, then the streaming chunks
// (chunk + context code frames 16 + 0, 16 + 16, 32 + 16, two latent frames each).
struct FlowShape {
  std::int64_t frames, context;
};
constexpr FlowShape kFlowShapes[] = {{kWindowLatentFrames, 0}, {32, 0}, {64, 32}, {96, 32}};

void estimator_args(benchmark::internal::Benchmark* b) {
  for (int p = 0; p < 3; ++p)
    for (const FlowShape& s : kFlowShapes) b->Args({p, s.frames});
  b->ArgNames({"precision", "frames"})->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
}
void flow_args(benchmark::internal::Benchmark* b) {
  for (int p = 0; p < 3; ++p)
    for (const FlowShape& s : kFlowShapes) b->Args({p, s.frames, s.context});
  b->ArgNames({"precision", "frames", "context"})->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_EstimatorStep)->Apply(estimator_args);
BENCHMARK(BM_FlowSample)->Apply(flow_args);

// args: precision, latent frames. One scalar-decoder call on the stereo batch.
void BM_ScalarDecoder(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t frames = state.range(1);
  LoadedCodec& m = codec(precision);
  Backend& be = m.backend();
  const ScalarDecoder& decoder = m.model->decoder();
  const Tensor latent = decoder.split_channels(be.upload(gaussian({frames, m.model->flow().latent_channels()}, 3)));
  const double ms = time_synchronized(state, be, [&] { benchmark::DoNotOptimize(decoder.decode(latent).raw()); });
  report(state, m, precision, ms);
  state.counters["ms_per_audio_s"] = ms / (static_cast<double>(frames) / kLatentFramesPerSecond);
}
BENCHMARK(BM_ScalarDecoder)
    ->ArgsProduct({{0, 1, 2}, {25, kWindowLatentFrames}})
    ->ArgNames({"precision", "frames"})
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// args: precision. decode_offline of 30 s of random codes (padded to two 744-frame windows), no
// warm-up: each call captures its windows' graphs afresh, as a user's call does.
void BM_OfflineDecode30s(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  LoadedCodec& m = codec(precision);
  const Tensor codes = random_codes(kOfflineCodeFrames);
  const double ms = time_synchronized(
      state, m.backend(),
      [&] {
        GaussianNoise noise(kSeed);
        benchmark::DoNotOptimize(decode_offline(*m.model, codes, noise).raw());
      },
      {}, false);
  report(state, m, precision, ms);
  const double audio_s = static_cast<double>(kOfflineCodeFrames) * kCodeFrameMs / 1e3;
  state.counters["seconds"] = ms / 1e3;
  state.counters["rtf"] = ms / 1e3 / audio_s;  // compute time / audio time
}
// fp32 takes seconds per call: once.
BENCHMARK(BM_OfflineDecode30s)
    ->Arg(0)
    ->ArgName("precision")
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OfflineDecode30s)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("precision")
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// args: precision, chunk code frames. One steady-state chunk of a StreamingDecoder (16 context
// frames): the push of the frame that completes it (flow matching + scalar decoder + download)
// and the pull; the chunk's other pushes are untimed.
void BM_StreamingChunk(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t chunk = state.range(1);
  LoadedCodec& m = codec(precision);
  const CodecConfig& c = released_config();
  GaussianNoise noise(kSeed);
  StreamingDecoderOptions options;
  options.chunk_frames = chunk;
  options.context_frames = kContextCodeFrames;
  StreamingDecoder decoder(*m.model, noise, options);
  std::mt19937 gen(kSeed);
  std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(c.codebook_size - 1));
  std::vector<std::int32_t> frame(static_cast<std::size_t>(c.num_quantizers));
  const auto push = [&] {
    for (std::int32_t& code : frame) code = id(gen);
    decoder.push(frame);
  };
  // Chunks until the carried context is full: from then on every chunk has the same shape.
  const std::int64_t filling = (kContextCodeFrames + chunk - 1) / chunk;
  for (std::int64_t i = 0; i < filling * chunk; ++i) push();
  decoder.pull();
  const double ms = time_synchronized(
      state, m.backend(),
      [&] {
        push();
        benchmark::DoNotOptimize(decoder.pull().data());
      },
      [&] {
        for (std::int64_t i = 1; i < chunk; ++i) push();
      });
  report(state, m, precision, ms);
  state.counters["ms_per_code_frame"] = ms / static_cast<double>(chunk);
  state.counters["chunk_rtf"] = ms / (static_cast<double>(chunk) * kCodeFrameMs);  // compute time / audio time
}
BENCHMARK(BM_StreamingChunk)
    ->ArgsProduct({{0, 1, 2}, {4, 8, 16, 32}})
    ->ArgNames({"precision", "chunk"})
    ->UseManualTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);

// args: precision, songs. One steady-state 16-frame chunk of each of `songs` streams decoded
// together by a CodecBatch (the daemon's codec call): their completing pushes, CodecBatch::run and
// the pulls. ms_per_song_frame is the codec's cost per song per 80 ms frame.
void BM_CodecBatchChunk(benchmark::State& state) {
  constexpr std::int64_t kChunk = 16;
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t songs = state.range(1);
  LoadedCodec& m = codec(precision);
  const CodecConfig& c = released_config();
  CodecBatch batch(*m.model, songs);
  std::vector<std::unique_ptr<GaussianNoise>> noises;
  std::vector<std::unique_ptr<StreamingDecoder>> decoders;
  std::vector<StreamingDecoder*> all;
  StreamingDecoderOptions options;
  options.chunk_frames = kChunk;
  options.context_frames = kContextCodeFrames;
  options.batch = &batch;
  for (std::int64_t s = 0; s < songs; ++s) {
    noises.push_back(std::make_unique<GaussianNoise>(kSeed + static_cast<std::uint64_t>(s)));
    decoders.push_back(std::make_unique<StreamingDecoder>(*m.model, *noises.back(), options));
    all.push_back(decoders.back().get());
  }
  std::mt19937 gen(kSeed);
  std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(c.codebook_size - 1));
  std::vector<std::int32_t> frame(static_cast<std::size_t>(c.num_quantizers));
  const auto push_all = [&] {
    for (StreamingDecoder* d : all) {
      for (std::int32_t& code : frame) code = id(gen);
      d->push(frame);
    }
  };
  const auto round = [&] {
    push_all();
    batch.run(all);
    for (StreamingDecoder* d : all) benchmark::DoNotOptimize(d->pull().data());
  };
  // Chunks until the carried context is full (and the call's graphs are captured).
  for (std::int64_t i = 0; i < 3 * kChunk; ++i) round();
  const double ms = time_synchronized(state, m.backend(), round, [&] {
    for (std::int64_t i = 1; i < kChunk; ++i) round();
  });
  report(state, m, precision, ms);
  state.counters["ms_per_song_frame"] = ms / static_cast<double>(songs * kChunk);
  // Songs whose codec fits in real time if the GPU did nothing else: audio time / compute time.
  state.counters["realtime_songs"] = static_cast<double>(songs * kChunk) * kCodeFrameMs / ms;
}
BENCHMARK(BM_CodecBatchChunk)
    ->ArgsProduct({{1, 2}, {1, 2, 4, 8, 16, 32}})
    ->ArgNames({"precision", "songs"})
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// ---- measured ceilings --------------------------------------------------------------------------

// Device-to-device copy of 1 GiB; GB/s counts the bytes read and written.
void BM_CopyBandwidth(benchmark::State& state) {
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  void *src = nullptr, *dst = nullptr;
  CUDA_CHECK(cudaMalloc(&src, kCopyBytes));
  CUDA_CHECK(cudaMalloc(&dst, kCopyBytes));
  CUDA_CHECK(cudaMemset(src, 1, kCopyBytes));
  time_on_stream(state, stream,
                 [&] { CUDA_CHECK(cudaMemcpyAsync(dst, src, kCopyBytes, cudaMemcpyDeviceToDevice, stream)); });
  state.counters["GB/s"] =
      benchmark::Counter(2.0 * static_cast<double>(kCopyBytes) / kGiga, benchmark::Counter::kIsIterationInvariantRate);
  cudaFree(src);
  cudaFree(dst);
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_CopyBandwidth)->UseManualTime()->Iterations(20)->Unit(benchmark::kMillisecond);

// args: precision. Backend::linear on a fresh codec backend (the models' peak counters stay
// theirs), x in the backend's narrow dtype (bf16 for bf16 / fp8 weights: no conversion pass; fp8
// quantizes x per row, as the codec's linears do).
void BM_GemmCeiling(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  ModelBackends backends = codec_backends(precision);
  Backend& be = *backends.codec;
  const Weight w = be.load_linear(gaussian({kCeilingN, kCeilingK}, 4), nullptr, precision);
  const DType x_dtype = be.narrow_dtype(precision);
  const Tensor x_host = gaussian({kCeilingM, kCeilingK}, 5);
  const Tensor x = be.upload_exact(x_dtype == DType::BF16 ? x_host.to_bf16() : x_host);
  Tensor out = be.alloc({kCeilingM, kCeilingN}, x_dtype);
  const double ms = time_synchronized(state, be, [&] {
    for (int i = 0; i < kCeilingLaunches; ++i) be.linear(x, w, out);
  });
  const double gemm_ms = ms / kCeilingLaunches;
  state.SetLabel(std::string(precision_name(precision)));
  state.counters["ms_per_gemm"] = gemm_ms;
  state.counters["TFLOP/s"] = 2.0 * kCeilingM * kCeilingN * kCeilingK / (gemm_ms / 1e3) / 1e12;
}
BENCHMARK(BM_GemmCeiling)
    ->DenseRange(0, 2)
    ->ArgName("precision")
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hs

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  hs::loaded_codecs().clear();  // static destructors would free device memory after the runtime unloads
  return 0;
}
