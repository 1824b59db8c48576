// CUDA LM benchmarks (H200 targets: bf16 ≤ 4.0 ms/frame, fp8 ≤ 2.5 ms/frame; weight-read floors
// 2.5 / 1.24 ms): GEMMs at the decode (M = 2) and prefill (M = 600) shapes — the custom GEMV
// against cuBLASLt — attention decode (one song's cache, and many songs' through the paged pool),
// sampling, an embedding-row gather from a table in device or in mapped host memory, and the
// whole HeartMuLa frame step with the real 3B + 300M shapes from random weights (bf16, fp8; CUDA
// Graph replay on and off), with the 300-token prefill and the backend's peak device memory as
// counters, and the prefill of 300 and 1000 prompt tokens into a session sized for 3000 frames.
// GPU time comes from CUDA events (manual time).
#include <benchmark/benchmark.h>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "benchmarks/gpu/cuda_event_timing.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/model/lm/mula_batch.h"
#include "engine/model/lm/mula_model.h"
#include "engine/model/lm/mula_session.h"
#include "kernels/attention.cuh"
#include "kernels/cuda_check.h"
#include "kernels/gather_rows.cuh"
#include "kernels/gemv.cuh"
#include "kernels/launch.cuh"
#include "kernels/lt_matmul.h"
#include "kernels/q4.cuh"
#include "kernels/quantize_fp8.cuh"
#include "kernels/sample.cuh"

namespace hs {
namespace {

constexpr double kGiga = 1e9;
constexpr std::int64_t kPromptTokens = 300;
constexpr std::int64_t kTimedFrames = 100;
constexpr std::int64_t kSongFrames = 3001;  // a 240 s song: frame 0 + 240 000 ms / 80 (sessions' KV capacity)
constexpr std::size_t kLtWorkspaceBytes = 32u << 20;

// Small positive-and-negative bf16/fp8 bit patterns: even bytes random, odd bytes 0x3c with a
// random sign (a modest bf16 exponent). Eight bytes per splitmix64 step: a case's 128+ MB of
// rotating weights are made again at each of Google Benchmark's runs of it, and one mt19937 draw
// per byte took ~0.8 s per 150 MB on the host (~0.09 s this way).
void* device_random(std::size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes));
  std::vector<std::uint64_t> host((bytes + 7) / 8);
  std::uint64_t state = 1;
  for (std::uint64_t& word : host) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    word = ((z ^ (z >> 31)) & 0x80ff80ff80ff80ffull) ^ 0x3c003c003c003c00ull;
  }
  CUDA_CHECK(cudaMemcpy(p, host.data(), bytes, cudaMemcpyHostToDevice));
  return p;
}

// A device copy of `host` (cudaFree it).
template <typename T>
void* device_upload(const std::vector<T>& host) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, host.size() * sizeof(T)));
  CUDA_CHECK(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

enum class GemmImpl { Gemv, Lt };

// Launches per timed iteration of BM_Gemm, over rotating weight copies (≥ 128 MB in all, more
// than the 50 MB L2): back-to-back like a frame's GEMMs, without one event pair per launch.
constexpr int kGemmLaunches = 20;
constexpr std::size_t kGemmRotationBytes = 128u << 20;

// args: impl, weight type, M, N, K. The GEMV takes bf16 x, as the model's decode steps do (its
// fp8 path runs on tensor cores); cuBLASLt takes bf16 x, or x quantized per row for fp8 weights
// (that quantization is timed too).
void BM_Gemm(benchmark::State& state) {
  const auto impl = static_cast<GemmImpl>(state.range(0));
  const auto type = static_cast<kernels::WeightType>(state.range(1));
  const std::int64_t m = state.range(2), n = state.range(3), k = state.range(4);
  const std::size_t wbytes = type == kernels::WeightType::FP8 ? 1 : 2;
  const std::size_t weight_bytes = static_cast<std::size_t>(n * k) * wbytes;
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  std::vector<void*> weights(std::min<std::size_t>(kGemmLaunches, (kGemmRotationBytes + weight_bytes - 1) / weight_bytes));
  for (void*& w : weights) w = device_random(weight_bytes);
  void* x = device_random(static_cast<std::size_t>(m * k) * 2);  // bf16
  void* xq = device_random(static_cast<std::size_t>(m * k));
  void* out = device_random(static_cast<std::size_t>(m * n) * sizeof(float));
  float* scales = static_cast<float*>(device_random(static_cast<std::size_t>(std::max(n, m)) * sizeof(float)));
  kernels::LtMatmul lt(kLtWorkspaceBytes);
  bool ok = true;
  time_on_stream(state, stream, [&] {
    for (int i = 0; i < kGemmLaunches; ++i) {
      void* w = weights[static_cast<std::size_t>(i) % weights.size()];
      if (impl == GemmImpl::Gemv) {
        kernels::gemv({x, w, type == kernels::WeightType::FP8 ? scales : nullptr, nullptr, {out}, {n}, m, k, n,
                       kernels::ElementType::BF16, type, kernels::ElementType::F32, false, false},
                      stream);
      } else if (type == kernels::WeightType::FP8) {
        kernels::quantize_fp8({x, xq, scales, m, k, kernels::ElementType::BF16}, stream);
        ok = ok && lt.run({w, xq, out, m, k, n, type}, stream);
      } else {
        ok = ok && lt.run({w, x, out, m, k, n, type}, stream);
      }
    }
  });
  if (!ok) state.SkipWithError("cuBLASLt has no algorithm for this shape");
  const double bytes = static_cast<double>(weight_bytes) + static_cast<double>(m * (k + n) * 2);
  state.counters["us_per_gemm"] =
      benchmark::Counter(kGemmLaunches / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["GB/s"] = benchmark::Counter(kGemmLaunches * bytes / kGiga, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["TFLOP/s"] =
      benchmark::Counter(kGemmLaunches * 2.0 * m * n * k / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  for (void* p : weights) cudaFree(p);
  for (void* p : {x, xq, out, static_cast<void*>(scales)}) cudaFree(p);
  cudaStreamDestroy(stream);
}

void gemm_args(benchmark::internal::Benchmark* b) {
  const std::vector<std::array<std::int64_t, 2>> decode{{3072, 3072}, {1024, 3072}, {8192, 3072}, {3072, 8192}, {8197, 3072}};
  const std::vector<std::array<std::int64_t, 2>> prefill{{3072, 3072}, {8192, 3072}, {3072, 8192}};
  for (int type : {1, 2})  // BF16, FP8
    for (const auto& [n, k] : decode)
      for (int impl : {0, 1}) b->Args({impl, type, 2, n, k});
  for (int type : {1, 2})
    for (const auto& [n, k] : prefill) b->Args({1, type, 2 * kPromptTokens, n, k});
  b->ArgNames({"impl(0=gemv,1=lt)", "type(1=bf16,2=fp8)", "M", "N", "K"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Gemm)->Apply(gemm_args);

// args: N, K, format. The 4-bit GEMV (kernels/q4.cuh; NF4: the table lookup, INT4: the integer decode) at M = 2 (a CFG frame's rows) over
// rotating weights, bf16 x; GB/s counts the codes, block scales and x read and the output written,
// against bench_codec_cuda's BM_CopyBandwidth as the ceiling.
void BM_GemvQ4(benchmark::State& state) {
  const std::int64_t m = 2, n = state.range(0), k = state.range(1);
  const std::size_t code_bytes = static_cast<std::size_t>(n * k / 2);
  const std::size_t scale_bytes = static_cast<std::size_t>(n * (k / kernels::kQ4BlockValues)) * sizeof(float);
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  const std::size_t copies = std::min<std::size_t>(kGemmLaunches, (kGemmRotationBytes + code_bytes - 1) / code_bytes);
  std::vector<void*> codes(copies), scales(copies);
  for (std::size_t i = 0; i < copies; ++i) {
    codes[i] = device_random(code_bytes);
    scales[i] = device_upload(std::vector<float>(scale_bytes / sizeof(float), 0.01f));
  }
  void* x = device_random(static_cast<std::size_t>(m * k) * 2);
  void* out = device_random(static_cast<std::size_t>(m * n) * sizeof(float));
  const Q4Levels& levels = q4_levels(state.range(2) == 0 ? Q4Format::NF4 : Q4Format::INT4);
  kernels::Q4Table table{};
  std::copy(levels.levels.begin(), levels.levels.end(), table.values);
  table.unit = levels.unit;
  time_on_stream(state, stream, [&] {
    for (int i = 0; i < kGemmLaunches; ++i) {
      const std::size_t r = static_cast<std::size_t>(i) % copies;
      kernels::gemv_q4({x, codes[r], nullptr, nullptr, {out}, {n}, m, k, n, kernels::ElementType::BF16,
                        kernels::WeightType::BF16, kernels::ElementType::F32, false, false},
                       static_cast<const float*>(scales[r]), table, stream);
    }
  });
  const double bytes = static_cast<double>(code_bytes + scale_bytes) + static_cast<double>(m * k * 2 + m * n * 4);
  state.counters["us_per_gemv"] =
      benchmark::Counter(kGemmLaunches / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["GB/s"] = benchmark::Counter(kGemmLaunches * bytes / kGiga, benchmark::Counter::kIsIterationInvariantRate);
  for (std::size_t i = 0; i < copies; ++i) {
    cudaFree(codes[i]);
    cudaFree(scales[i]);
  }
  cudaFree(x);
  cudaFree(out);
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_GemvQ4)
    ->ArgsProduct({{3072, 5120, 16384, 8197}, {3072}, {0, 1}})
    ->ArgsProduct({{3072}, {8192}, {0, 1}})
    ->ArgNames({"N", "K", "format(0=nf4,1=int4)"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// args: N, K. The ceiling at BM_GemvQ4's sizes: device-to-device copies of its codes and block
// scales, over the same rotation (each copy reads those bytes and writes them once more, and pays
// the same launch and DRAM latency a GEMV of that size does).
void BM_CopyQ4Bytes(benchmark::State& state) {
  const std::int64_t n = state.range(0), k = state.range(1);
  const std::size_t bytes = static_cast<std::size_t>(n * k / 2 + n * (k / kernels::kQ4BlockValues) * 4);
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  const std::size_t copies = std::min<std::size_t>(kGemmLaunches, (kGemmRotationBytes + bytes - 1) / bytes);
  std::vector<void*> src(copies), dst(copies);
  for (std::size_t i = 0; i < copies; ++i) {
    src[i] = device_random(bytes);
    CUDA_CHECK(cudaMalloc(&dst[i], bytes));
  }
  time_on_stream(state, stream, [&] {
    for (int i = 0; i < kGemmLaunches; ++i) {
      const std::size_t r = static_cast<std::size_t>(i) % copies;
      CUDA_CHECK(cudaMemcpyAsync(dst[r], src[r], bytes, cudaMemcpyDeviceToDevice, stream));
    }
  });
  state.counters["us_per_copy"] =
      benchmark::Counter(kGemmLaunches / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  for (std::size_t i = 0; i < copies; ++i) {
    cudaFree(src[i]);
    cudaFree(dst[i]);
  }
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_CopyQ4Bytes)
    ->ArgsProduct({{3072, 5120, 16384, 8197}, {3072}})
    ->Args({3072, 8192})
    ->ArgNames({"N", "K"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// args: visible keys, cache (0 = bf16, 1 = fp8 with a scale per key and kv head). Backbone decode
// shapes: batch 2, 24 heads, 8 kv heads, head_dim 128. GB/s counts the cache bytes read.
void BM_AttentionDecode(benchmark::State& state) {
  const std::int64_t keys = state.range(0), batch = 2, heads = 24, kv = 8, hd = 128;
  const bool fp8 = state.range(1) != 0;
  const std::size_t element = fp8 ? 1 : 2, vectors = static_cast<std::size_t>(batch * keys * kv);
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  void* q = device_random(static_cast<std::size_t>(batch * heads * hd) * 2);
  void* k = device_random(vectors * hd * element);
  void* v = device_random(vectors * hd * element);
  void* out = device_random(static_cast<std::size_t>(batch * heads * hd) * 2);
  void* scales = device_upload(std::vector<float>(vectors, 1.0f));
  kernels::AttentionParams p{q, k, v, out, nullptr, nullptr, batch, 1, heads, kv, hd, keys, kernels::ElementType::BF16,
                             kernels::ElementType::BF16, kernels::ElementType::BF16};
  if (fp8) p.k_scale = p.v_scale = static_cast<const float*>(scales);
  void* ws = device_random(static_cast<std::size_t>(std::max<std::int64_t>(1, kernels::attention_workspace_floats(p))) * 4);
  p.workspace = static_cast<float*>(ws);
  time_on_stream(state, stream, [&] { kernels::attention(p, stream); });
  const double bytes = 2.0 * static_cast<double>(vectors) * static_cast<double>(hd * element + (fp8 ? 4 : 0));
  state.counters["GB/s"] = benchmark::Counter(bytes / kGiga, benchmark::Counter::kIsIterationInvariantRate);
  for (void* ptr : {q, k, v, out, ws, scales}) cudaFree(ptr);
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_AttentionDecode)
    ->ArgsProduct({{300, 1000, 3300}, {0, 1}})
    ->ArgNames({"keys", "fp8"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// args: tokens (2 per CFG song), visible keys per token, cache (0 = bf16, 1 = fp8 with a scale per key
// and kv head). MulaBatch's decode attention: each token reads its own KV row through a table of
// 16-position blocks scattered over the pool; 24 heads over 8 kv heads, head_dim 128. GB/s counts
// the cache bytes read (K, V and the fp8 scales): bench_codec_cuda's BM_CopyBandwidth is the ceiling.
void BM_AttentionPaged(benchmark::State& state) {
  const std::int64_t tokens = state.range(0), keys = state.range(1), heads = 24, kv = 8, hd = 128, block = 16;
  const bool fp8 = state.range(2) != 0;
  const std::int64_t width = (keys + block - 1) / block, blocks = tokens * width;
  const std::size_t element = fp8 ? 1 : 2, vectors = static_cast<std::size_t>(blocks * block * kv);
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  std::vector<std::int32_t> table(static_cast<std::size_t>(blocks)), rows(static_cast<std::size_t>(tokens));
  std::iota(table.begin(), table.end(), 0);
  std::shuffle(table.begin(), table.end(), std::mt19937(1));
  std::iota(rows.begin(), rows.end(), 0);
  const std::vector<std::int32_t> positions(static_cast<std::size_t>(tokens), static_cast<std::int32_t>(keys - 1));
  void* table_d = device_upload(table);
  void* rows_d = device_upload(rows);
  void* positions_d = device_upload(positions);
  void* q = device_random(static_cast<std::size_t>(tokens * heads * hd) * 2);
  void* k = device_random(vectors * hd * element);
  void* v = device_random(vectors * hd * element);
  void* out = device_random(static_cast<std::size_t>(tokens * heads * hd) * 2);
  void* scales = device_upload(std::vector<float>(vectors, 1.0f));
  kernels::AttentionParams p{q, k, v, out, static_cast<const std::int32_t*>(positions_d), nullptr, 1, tokens, heads, kv,
                             hd, width * block, kernels::ElementType::BF16, kernels::ElementType::BF16,
                             kernels::ElementType::BF16};
  if (fp8) p.k_scale = p.v_scale = static_cast<const float*>(scales);
  p.block_tables = static_cast<const std::int32_t*>(table_d);
  p.kv_rows = static_cast<const std::int32_t*>(rows_d);
  p.block_size = block;
  p.table_width = width;
  void* ws = device_random(static_cast<std::size_t>(std::max<std::int64_t>(1, kernels::attention_workspace_floats(p))) * 4);
  p.workspace = static_cast<float*>(ws);
  time_on_stream(state, stream, [&] { kernels::attention(p, stream); });
  const double bytes = 2.0 * static_cast<double>(tokens * keys * kv) * static_cast<double>(hd * element + (fp8 ? 4 : 0));
  state.counters["GB/s"] = benchmark::Counter(bytes / kGiga, benchmark::Counter::kIsIterationInvariantRate);
  for (void* ptr : {q, k, v, out, ws, scales, table_d, rows_d, positions_d}) cudaFree(ptr);
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_AttentionPaged)
    ->ArgsProduct({{2, 64, 256}, {400, 1000}, {0, 1}})
    ->ArgNames({"tokens", "keys", "fp8"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Sample(benchmark::State& state) {
  constexpr std::int64_t kVocab = 8197;
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  void* logits = device_random(2 * kVocab * 2);
  std::int64_t* rng = nullptr;
  std::int32_t* token = nullptr;
  CUDA_CHECK(cudaMalloc(&rng, 16));
  CUDA_CHECK(cudaMemset(rng, 0, 16));
  CUDA_CHECK(cudaMalloc(&token, 4));
  time_on_stream(state, stream, [&] {
    kernels::sample({logits, nullptr, rng, token, 2, kVocab, 1.5f, 1.0f, static_cast<int>(state.range(0)),
                     kernels::ElementType::BF16},
                    stream);
  });
  cudaFree(logits);
  cudaFree(rng);
  cudaFree(token);
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_Sample)->Arg(50)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

// args: table placement (0 = device memory, 1 = mapped pinned host memory, the default of
// CudaBackendOptions::tables_in_host_memory). One decode-step gather: a row of HeartMuLa 3B's bf16
// audio embedding table (8 × 8197 × 3072) widened to fp32; a frame does 8 such reads.
void BM_GatherRow(benchmark::State& state) {
  constexpr std::int64_t kRows = 8 * 8197, kDim = 3072;
  const std::size_t bytes = static_cast<std::size_t>(kRows * kDim) * 2;
  const bool in_host = state.range(0) != 0;
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  void* host = nullptr;
  void* table = nullptr;
  if (in_host) {
    CUDA_CHECK(cudaHostAlloc(&host, bytes, cudaHostAllocMapped));
    std::memset(host, 0x3c, bytes);
    CUDA_CHECK(cudaHostGetDevicePointer(&table, host, 0));
  } else {
    table = device_random(bytes);
  }
  void* ids = device_random(4);
  CUDA_CHECK(cudaMemset(ids, 0, 4));
  void* out = device_random(kDim * 4);
  time_on_stream(state, stream, [&] {
    kernels::gather_rows({table, static_cast<const std::int32_t*>(ids), out, 1, kRows, kDim, 5 * 8197,
                          kernels::ElementType::BF16, kernels::ElementType::F32},
                         stream);
  });
  if (in_host) cudaFreeHost(host);
  else cudaFree(table);
  cudaFree(ids);
  cudaFree(out);
  cudaStreamDestroy(stream);
}
BENCHMARK(BM_GatherRow)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

// ---- the whole frame step --------------------------------------------------------------------

// One random host tensor per distinct shape, shared by every name of that shape (the device
// still gets one copy per weight).
class RandomShapes {
 public:
  const Tensor& get(const Shape& shape) {
    auto& t = tensors_[shape];
    if (!t.defined()) {
      t = Tensor::zeros(shape, DType::BF16);
      std::uint32_t s = 0x9e3779b9u ^ static_cast<std::uint32_t>(shape_numel(shape));
      auto* bits = t.data<std::uint16_t>();
      const float scale = 1.0f / std::sqrt(static_cast<float>(shape.back()));
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        bits[i] = f32_to_bf16((static_cast<float>(s >> 8) / 16777216.0f * 2.0f - 1.0f) * 1.7f * scale);
      }
    }
    return t;
  }

 private:
  std::map<Shape, Tensor> tensors_;
};

struct LoadedModel {
  std::unique_ptr<CudaBackend> backend;
  std::shared_ptr<const MulaModel> model;
};

// The models loaded so far, one per precision; main() releases them before the CUDA runtime unloads.
std::map<Precision, LoadedModel>& loaded_models() {
  static std::map<Precision, LoadedModel> models;
  return models;
}

LoadedModel& real_model(Precision precision) {
  LoadedModel& m = loaded_models()[precision];
  if (!m.model) {
    const MulaConfig config{"llama-3B", "llama-300M", 128256, 8197, 8, 512};
    RandomShapes shapes;
    std::map<std::string, Tensor> tensors;
    for (const auto& [name, shape] : mula_tensor_shapes(config)) tensors[name] = shapes.get(shape);
    m.backend = std::make_unique<CudaBackend>();
    m.model = std::make_shared<const MulaModel>(*m.backend, config, TensorMapSource(std::move(tensors)), precision);
  }
  return m;
}

Prompt random_prompt(std::int64_t length) {
  Prompt p;
  p.tokens = Tensor::zeros({2, length, 9}, DType::I32);
  p.mask = Tensor::zeros({2, length, 9}, DType::U8);
  p.muq_index = length / 4;
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t i = 0; i < length; ++i) {
      p.tokens.data<std::int32_t>()[(b * length + i) * 9 + 8] = static_cast<std::int32_t>((i * 7919) % 128000);
      p.mask.data<std::uint8_t>()[(b * length + i) * 9 + 8] = 1;
    }
  return p;
}

// Session options of the benchmarks' songs: kSongFrames frames, cache `kv` (0 = auto, 1 = fp8).
SessionOptions song_options(std::int64_t kv, std::uint64_t seed = 42, std::int64_t frames = kSongFrames) {
  SessionOptions options{{.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f}, seed, frames};
  options.kv_cache = kv != 0 ? KvCache::Fp8 : KvCache::Auto;
  return options;
}

// One more step, inside cudaProfilerStart / Stop, when HEARTSTREAM_PROFILE_STEP is set: the kernels
// of one step for `ncu --profile-from-start off`.
template <typename Step>
void profile_step(Step&& step) {
  if (!std::getenv("HEARTSTREAM_PROFILE_STEP")) return;
  CUDA_CHECK(cudaProfilerStart());
  step();
  CUDA_CHECK(cudaProfilerStop());
}

// args: precision (1 = bf16, 2 = fp8, 3 = nf4, 4 = int4), graphs (0/1), KV cache (0 = auto, 1 =
// fp8), overlapped kernel launches (0/1, kernels/launch.cuh). Wall time per frame (each step ends
// with the frame's download, as a streaming session does).
void BM_FrameStep(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  LoadedModel& m = real_model(precision);
  m.backend->set_graphs(state.range(1) != 0);
  kernels::set_overlapped_launches(state.range(3) != 0);
  const Prompt prompt = random_prompt(kPromptTokens);
  const SessionOptions options = song_options(state.range(2));
  double prefill_ms = 0.0, frames_ms = 0.0;
  for (auto _ : state) {
    state.PauseTiming();
    MulaSession session(*m.model, prompt, options);
    m.backend->synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    session.step();  // prefill + frame 0
    prefill_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    session.step();  // frame 1 (captures the graph)
    profile_step([&] { session.step(); });
    state.ResumeTiming();
    const auto t1 = std::chrono::steady_clock::now();
    for (std::int64_t f = 0; f < kTimedFrames; ++f) benchmark::DoNotOptimize(session.step());
    frames_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  }
  state.counters["ms_per_frame"] = frames_ms / static_cast<double>(kTimedFrames * state.iterations());
  state.counters["prefill_ms_300"] = prefill_ms;
  state.counters["peak_mem_gb"] = static_cast<double>(m.backend->peak_allocated_bytes()) / kGiga;
  // The audio embedding table, in mapped host memory (CudaBackendOptions::tables_in_host_memory).
  state.counters["host_table_gb"] = static_cast<double>(m.model->weights().audio_embeddings.bytes()) / kGiga;
}
BENCHMARK(BM_FrameStep)
    ->ArgsProduct({{1, 2, 3, 4}, {1, 0}, {0, 1}, {1, 0}})
    ->ArgNames({"precision(1=bf16,2=fp8,3=nf4,4=int4)", "graphs", "fp8_kv", "overlapped"})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// args: precision (1 = bf16, 2 = fp8), prompt tokens, KV cache (0 = auto, 1 = fp8). Prefill +
// frame 0 of a session sized for kSongFrames frames (a 240 s song), and the backend's peak device
// memory with that KV cache (the largest KV cache of the run so far: run one case alone to read
// its own).
void BM_Prefill(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  LoadedModel& m = real_model(precision);
  m.backend->set_graphs(true);
  const Prompt prompt = random_prompt(state.range(1));
  const SessionOptions options = song_options(state.range(2));
  double total_ms = 0.0;
  for (auto _ : state) {
    state.PauseTiming();
    MulaSession session(*m.model, prompt, options);
    m.backend->synchronize();
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(session.step());
    total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["prefill_ms"] = total_ms / static_cast<double>(state.iterations());
  state.counters["peak_mem_gb"] = static_cast<double>(m.backend->peak_allocated_bytes()) / kGiga;
}
BENCHMARK(BM_Prefill)
    ->ArgsProduct({{1, 2, 3, 4}, {kPromptTokens, 1000}, {0, 1}})
    ->ArgNames({"precision(1=bf16,2=fp8,3=nf4,4=int4)", "prompt", "fp8_kv"})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// args: precision (1 = bf16, 2 = fp8), positions per call. MulaBatch::prefill of a 1000-position
// CFG prompt in calls of that many positions (the daemon's server.prefill_per_round): the longest
// call (the last one samples the first frame too) is what a burst of arrivals adds to a round.
void BM_PrefillChunk(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t per_call = state.range(1), length = 1000, block = 16;
  LoadedModel& m = real_model(precision);
  m.backend->set_graphs(true);
  const Prompt prompt = random_prompt(length);
  double total_ms = 0.0, longest_ms = 0.0;
  std::int64_t calls = 0;
  for (auto _ : state) {
    MulaBatch batch(*m.model, {.slots = 1, .block_size = block, .kv_blocks = 2 * ((length + 8 + block - 1) / block)});
    const std::int64_t slot = batch.begin(prompt, song_options(0, 1, 8));
    m.backend->synchronize();
    while (batch.prefill_left(slot) > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(batch.prefill(slot, per_call));
      m.backend->synchronize();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      total_ms += ms;
      longest_ms = std::max(longest_ms, ms);
      ++calls;
    }
  }
  state.counters["ms_per_call"] = total_ms / static_cast<double>(calls);
  state.counters["longest_call_ms"] = longest_ms;
}
BENCHMARK(BM_PrefillChunk)
    ->ArgsProduct({{2, 1}, {64, 128, 256, 512, 1000}})
    ->ArgNames({"precision(1=bf16,2=fp8)", "positions"})
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);

// args: precision (1 = bf16, 2 = fp8), songs, KV cache (0 = auto, 1 = fp8). MulaBatch (engine/model/lm/mula_batch.h): that many
// CFG songs with 300-token prompts joined, then every step advances all of them one frame (wall
// time per step, ending with the frames' download). A song stays real time while a step takes
// under 80 ms; the KV pool holds each song's prompt and the timed frames.
void BM_BatchStep(benchmark::State& state) {
  const auto precision = static_cast<Precision>(state.range(0));
  const std::int64_t songs = state.range(1), block = 16;
  LoadedModel& m = real_model(precision);
  m.backend->set_graphs(true);
  const Prompt prompt = random_prompt(kPromptTokens);
  const std::int64_t song_frames = 2 * kTimedFrames;  // each song reserves its prompt and these
  const std::int64_t blocks_per_row = (kPromptTokens + song_frames + block - 1) / block;
  double step_ms = 0.0, join_ms = 0.0;
  for (auto _ : state) {
    state.PauseTiming();
    MulaBatch batch(*m.model, {.slots = songs,
                               .block_size = block,
                               .kv_blocks = songs * 2 * blocks_per_row,
                               .kv_cache = state.range(2) != 0 ? KvCache::Fp8 : KvCache::Auto});
    Frame first;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t s = 0; s < songs; ++s)
      batch.join(prompt, song_options(state.range(2), static_cast<std::uint64_t>(s), song_frames), first);
    join_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / songs;
    batch.step();  // captures this bucket's graph
    profile_step([&] { batch.step(); });
    state.ResumeTiming();
    const auto t1 = std::chrono::steady_clock::now();
    for (std::int64_t f = 0; f < kTimedFrames; ++f) benchmark::DoNotOptimize(batch.step());
    step_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  }
  const double ms = step_ms / static_cast<double>(kTimedFrames * state.iterations());
  state.counters["ms_per_step"] = ms;
  state.counters["frames_per_s"] = static_cast<double>(songs) * 1000.0 / ms;
  state.counters["realtime"] = ms < 80.0 ? 1 : 0;
  state.counters["join_ms_per_song"] = join_ms;
  state.counters["peak_mem_gb"] = static_cast<double>(m.backend->peak_allocated_bytes()) / kGiga;
}
BENCHMARK(BM_BatchStep)
    ->ArgsProduct({{2, 1}, {1, 4, 16, 32, 64, 128}, {0, 1}})
    ->ArgNames({"precision(1=bf16,2=fp8)", "songs", "fp8_kv"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hs

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  hs::loaded_models().clear();  // static destructors would free device memory after the runtime unloads
  return 0;
}
