// The codec's scalar-decoder convolutions (REFERENCE.md "The codec" 5) at their real shapes for
// 1 s of audio (25 latent frames, stereo batch 2): the input conv, each block's k7 convs (dilation
// 1 and 9) and k1 conv with PReLU fused, its ConvTranspose1d upsampler, the 48 kHz post conv and
// the output conv; fp32 weights (CUDA cores) and bf16 weights (tensor cores). GPU time from CUDA
// events around kLaunches back-to-back launches of one layer (its weights stay in L2 between
// launches, as they do not in the decoder); TFLOP/s counts 2·Cout·Cin·K·B per output column
// (per input column for the transposed conv).
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "benchmarks/gpu/cuda_event_timing.h"
#include "engine/core/dtype.h"
#include "kernels/conv1d.cuh"
#include "kernels/conv_transpose1d.cuh"
#include "kernels/cuda_check.h"

namespace hs {
namespace {

constexpr int kBatch = 2;       // stereo
constexpr int kLatentFrames = 25;  // 1 s of audio
constexpr int kLaunches = 20;
constexpr int kBlocks = 5;
constexpr int kBlockChannels[kBlocks] = {1024, 512, 256, 128, 64};
constexpr int kBlockStrides[kBlocks] = {5, 4, 4, 4, 3};
constexpr int kCausalK7Taps = 6;  // a causal k7 conv pads dilation·6 on the left

// Frames at the output of block i (5·, 20·, 80·, 320·, 960· latent frames); the post conv runs at
// twice the last.
int block_len(int block) {
  int len = kLatentFrames;
  for (int i = 0; i <= block; ++i) len *= kBlockStrides[i];
  return len;
}

struct ConvLayer {
  const char* name;
  int cin, cout, kernel, dilation, pad_left, pad_right, len;
  bool prelu;
};

std::vector<ConvLayer> conv_layers() {
  std::vector<ConvLayer> layers = {{"input_k5", 128, 2048, 5, 1, 2, 2, kLatentFrames, false}};
  for (int b = 0; b < kBlocks; ++b) {
    const int c = kBlockChannels[b], t = block_len(b);
    layers.push_back({"block_k7_d1", c, c, 7, 1, kCausalK7Taps, 0, t, true});
    layers.push_back({"block_k7_d9", c, c, 7, 9, 9 * kCausalK7Taps, 0, t, true});
    layers.push_back({"block_k1", c, c, 1, 1, 0, 0, t, true});
  }
  const int post_len = 2 * block_len(kBlocks - 1);
  layers.push_back({"post_k7_48k", 64, 64, 7, 1, kCausalK7Taps, 0, post_len, true});
  layers.push_back({"output_k7_48k", 64, 1, 7, 1, kCausalK7Taps, 0, post_len, false});
  return layers;
}

// A device buffer of n normal values times `scale`, as fp32 or bf16.
void* device_random(std::int64_t n, bool bf16, float scale, std::mt19937& gen) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> f32(static_cast<std::size_t>(n));
  std::vector<std::uint16_t> half(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < f32.size(); ++i) half[i] = f32_to_bf16(f32[i] = dist(gen));
  const std::size_t bytes = static_cast<std::size_t>(n) * (bf16 ? sizeof(std::uint16_t) : sizeof(float));
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes));
  CUDA_CHECK(cudaMemcpy(p, bf16 ? static_cast<const void*>(half.data()) : f32.data(), bytes, cudaMemcpyHostToDevice));
  return p;
}

// args: layer index into conv_layers(), weights (0 = fp32, 1 = bf16).
void BM_Conv1d(benchmark::State& state) {
  const ConvLayer l = conv_layers()[static_cast<std::size_t>(state.range(0))];
  const bool bf16 = state.range(1) == 1;
  state.SetLabel(l.name);
  const int out_len = l.len + l.pad_left + l.pad_right - l.dilation * (l.kernel - 1);
  std::mt19937 gen(1);
  void* x = device_random(std::int64_t{kBatch} * l.cin * l.len, false, 1.0f, gen);
  void* w = device_random(std::int64_t{l.cout} * l.cin * l.kernel, bf16, 1.0f / std::sqrt(static_cast<float>(l.cin * l.kernel)), gen);
  void* bias = device_random(l.cout, false, 0.1f, gen);
  void* alpha = device_random(l.cout, false, 0.25f, gen);
  void* out = device_random(std::int64_t{kBatch} * l.cout * out_len, false, 1.0f, gen);
  const kernels::Conv1dParams p{.x = static_cast<const float*>(x),
                                .weight = w,
                                .weight_type = bf16 ? kernels::WeightType::BF16 : kernels::WeightType::F32,
                                .bias = static_cast<const float*>(bias),
                                .alpha = l.prelu ? static_cast<const float*>(alpha) : nullptr,
                                .alpha_per_channel = true,
                                .out = static_cast<float*>(out),
                                .batch = kBatch,
                                .cin = l.cin,
                                .len = l.len,
                                .cout = l.cout,
                                .kernel = l.kernel,
                                .stride = 1,
                                .dilation = l.dilation,
                                .pad_left = l.pad_left,
                                .out_len = out_len};
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  const double flops = 2.0 * l.cout * l.cin * l.kernel * double{kBatch} * out_len;
  time_launches(state, stream, kLaunches, flops, [&] { kernels::conv1d(p, stream); });
  cudaStreamDestroy(stream);
  for (void* q : {x, w, bias, alpha, out}) cudaFree(q);
}
BENCHMARK(BM_Conv1d)
    ->ArgsProduct({benchmark::CreateDenseRange(0, static_cast<int>(conv_layers().size()) - 1, 1), {0, 1}})
    ->ArgNames({"layer", "bf16"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// args: block, weights (0 = fp32, 1 = bf16). ConvTranspose1d(2C → C, stride s, kernel 2s), causal:
// the last s outputs dropped.
void BM_ConvTranspose1d(benchmark::State& state) {
  const int block = static_cast<int>(state.range(0));
  const bool bf16 = state.range(1) == 1;
  const int cout = kBlockChannels[block], cin = 2 * cout, stride = kBlockStrides[block], kernel = 2 * stride;
  const int out_len = block_len(block), len = out_len / stride;
  std::mt19937 gen(1);
  void* x = device_random(std::int64_t{kBatch} * cin * len, false, 1.0f, gen);
  void* w = device_random(std::int64_t{cin} * cout * kernel, bf16, 1.0f / std::sqrt(static_cast<float>(2 * cin)), gen);
  void* bias = device_random(cout, false, 0.1f, gen);
  void* out = device_random(std::int64_t{kBatch} * cout * out_len, false, 1.0f, gen);
  const kernels::ConvTranspose1dParams p{.x = static_cast<const float*>(x),
                                         .weight = w,
                                         .weight_type = bf16 ? kernels::WeightType::BF16 : kernels::WeightType::F32,
                                         .bias = static_cast<const float*>(bias),
                                         .out = static_cast<float*>(out),
                                         .batch = kBatch,
                                         .cin = cin,
                                         .len = len,
                                         .cout = cout,
                                         .kernel = kernel,
                                         .stride = stride,
                                         .skip = 0,
                                         .out_len = out_len};
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  const double flops = 2.0 * cout * cin * kernel * double{kBatch} * len;
  time_launches(state, stream, kLaunches, flops, [&] { kernels::conv_transpose1d(p, stream); });
  cudaStreamDestroy(stream);
  for (void* q : {x, w, bias, out}) cudaFree(q);
}
BENCHMARK(BM_ConvTranspose1d)
    ->ArgsProduct({benchmark::CreateDenseRange(0, kBlocks - 1, 1), {0, 1}})
    ->ArgNames({"block", "bf16"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hs

BENCHMARK_MAIN();
