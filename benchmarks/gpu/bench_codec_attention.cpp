// Codec DiT attention (non-causal, batch 2 for guidance, 24 heads of 64 or 128, 64 to 744 frames):
// the bf16 tensor-core flash-attention kernel (fp32 I/O as the codec runs it, and bf16 I/O) against
// the fp32 SIMT kernel. GPU time from CUDA events around kLaunches back-to-back launches;
// TFLOP/s counts Q·Kᵀ and P·V, 4·B·H·T²·hd.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <random>
#include <vector>

#include "benchmarks/gpu/cuda_event_timing.h"
#include "engine/core/dtype.h"
#include "kernels/attention.cuh"
#include "kernels/cuda_check.h"
#include "kernels/flash_attention.cuh"

namespace hs {
namespace {

constexpr std::int64_t kBatch = 2, kHeads = 24;
constexpr int kLaunches = 50;

enum class Impl { Fp32Simt, TensorCoresF32, TensorCoresBf16 };

// A device buffer of n standard-normal values in `type`.
void* device_random(std::int64_t n, kernels::ElementType type, std::mt19937& gen) {
  std::normal_distribution<float> dist;
  std::vector<float> f32(static_cast<std::size_t>(n));
  std::vector<std::uint16_t> bf16(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < f32.size(); ++i) bf16[i] = f32_to_bf16(f32[i] = dist(gen));
  const bool wide = type == kernels::ElementType::F32;
  const std::size_t bytes = static_cast<std::size_t>(n) * (wide ? sizeof(float) : sizeof(std::uint16_t));
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes));
  CUDA_CHECK(cudaMemcpy(p, wide ? static_cast<const void*>(f32.data()) : bf16.data(), bytes, cudaMemcpyHostToDevice));
  return p;
}

// args: impl, head_dim, frames.
void BM_CodecAttention(benchmark::State& state) {
  const auto impl = static_cast<Impl>(state.range(0));
  const std::int64_t hd = state.range(1), t = state.range(2), n = kBatch * t * kHeads * hd;
  const auto type = impl == Impl::TensorCoresBf16 ? kernels::ElementType::BF16 : kernels::ElementType::F32;
  std::mt19937 gen(1);
  void* q = device_random(n, type, gen);
  void* k = device_random(n, type, gen);
  void* v = device_random(n, type, gen);
  void* out = device_random(n, type, gen);
  kernels::AttentionParams simt{q, k, v, out, nullptr, nullptr, kBatch, t, kHeads, kHeads, hd, t, type, type, type};
  const std::int64_t workspace_floats = kernels::attention_workspace_floats(simt);
  if (workspace_floats)
    CUDA_CHECK(cudaMalloc(&simt.workspace, static_cast<std::size_t>(workspace_floats) * sizeof(float)));
  const kernels::FlashAttentionParams flash{q, k, v, out, kBatch, t, kHeads, hd, t, type, type, type};
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  const double flops = 4.0 * kBatch * kHeads * static_cast<double>(t * t) * static_cast<double>(hd);
  time_launches(state, stream, kLaunches, flops, [&] {
    if (impl == Impl::Fp32Simt) kernels::attention(simt, stream);
    else kernels::flash_attention(flash, stream);
  });
  cudaStreamDestroy(stream);
  for (void* p : {q, k, v, out, static_cast<void*>(simt.workspace)}) cudaFree(p);
}
BENCHMARK(BM_CodecAttention)
    ->ArgsProduct({{0, 1, 2}, {64, 128}, {64, 128, 744}})
    ->ArgNames({"impl(0=fp32,1=tc_f32io,2=tc_bf16io)", "hd", "T"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hs

BENCHMARK_MAIN();
