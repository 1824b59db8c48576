#include <algorithm>
#include <string>

#include "kernels/common.cuh"
#include "kernels/gemv_epilogue.cuh"
#include "kernels/q4.cuh"

namespace hs::kernels {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = kWarpsPerBlock * kWarpSize;
// Two features per warp (a gated warp: gate j and up F + j): at the decode shapes (K = 3072: 96
// vectors a row) more warps hide the loads' latency better than more features per warp (H200,
// 2026-12-04: 4 features per warp read 3072 x 3072 at 443 GB/s).
constexpr int kFeaturesPerWarp = 2;
constexpr int kHalf = kFeaturesPerWarp / 2;
constexpr int kUnroll = 4;               // 16-byte code vectors in flight per lane and feature
constexpr int kCodesPerVector = 32;      // 16 bytes
constexpr int kCodesPerWord = 8;

}  // namespace

// As gemv_kernel (gemv.cu) without split-K: a warp owns kFeaturesPerWarp features, lanes stride
// over their rows in 16-byte vectors of 32 codes (half a block), each lane first issues the loads
// of one unrolled chunk; per 8 codes it loads the M x rows once and sums table values · x for
// every feature, then scales each vector's sum by its block's scale.
template <typename X, typename O>
static __global__ void __launch_bounds__(kThreads) gemv_q4_kernel(GemvParams p, const float* block_scales, Q4Table t) {
  __shared__ float table[16];
  if (threadIdx.x < 16) table[threadIdx.x] = t.values[threadIdx.x];
  __syncthreads();
  const int lane = threadIdx.x % kWarpSize;
  const std::int64_t warp = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  const std::int64_t half = p.out_features / 2;
  const std::int64_t n0 = warp * (p.gated ? kHalf : kFeaturesPerWarp);
  if (n0 >= (p.gated ? half : p.out_features)) return;
  std::int64_t feature[kFeaturesPerWarp];
#pragma unroll
  for (int r = 0; r < kFeaturesPerWarp; ++r) {
    const std::int64_t f = p.gated ? (r < kHalf ? n0 + r : half + n0 + r - kHalf) : n0 + r;
    feature[r] = f < p.out_features ? f : p.out_features - 1;
  }
  const int rows = static_cast<int>(p.rows);
  const std::int64_t vectors = p.in / kCodesPerVector, blocks = p.in / kQ4BlockValues;
  const uint4* wrow[kFeaturesPerWarp];
  const float* srow[kFeaturesPerWarp];
#pragma unroll
  for (int r = 0; r < kFeaturesPerWarp; ++r) {
    wrow[r] = reinterpret_cast<const uint4*>(static_cast<const std::uint8_t*>(p.weight) + feature[r] * (p.in / 2));
    srow[r] = block_scales + feature[r] * blocks;
  }
  const X* x = static_cast<const X*>(p.x);
  float acc[kFeaturesPerWarp][kGemvMaxRows] = {};
  for (std::int64_t base = lane; base < vectors; base += kWarpSize * kUnroll) {
    uint4 w[kFeaturesPerWarp][kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int r = 0; r < kFeaturesPerWarp; ++r)
        w[r][u] = base + u * kWarpSize < vectors ? load_streaming(wrow[r] + base + u * kWarpSize) : uint4{};
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t vi = base + u * kWarpSize;
      if (vi >= vectors) break;
      float part[kFeaturesPerWarp][kGemvMaxRows] = {};
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        float xf[kGemvMaxRows][kCodesPerWord];
#pragma unroll
        for (int m = 0; m < kGemvMaxRows; ++m)
          if (m < rows) load_floats<X, kCodesPerWord>(x + m * p.in + vi * kCodesPerVector + q * kCodesPerWord, xf[m]);
#pragma unroll
        for (int r = 0; r < kFeaturesPerWarp; ++r) {
          const std::uint32_t word = q == 0 ? w[r][u].x : q == 1 ? w[r][u].y : q == 2 ? w[r][u].z : w[r][u].w;
          float wv[kCodesPerWord];
#pragma unroll
          for (int e = 0; e < kCodesPerWord; ++e) wv[e] = table[(word >> (4 * e)) & 0xfu];
#pragma unroll
          for (int m = 0; m < kGemvMaxRows; ++m) {
            if (m >= rows) break;
#pragma unroll
            for (int e = 0; e < kCodesPerWord; ++e) part[r][m] = fmaf(wv[e], xf[m][e], part[r][m]);
          }
        }
      }
#pragma unroll
      for (int r = 0; r < kFeaturesPerWarp; ++r) {
        const float scale = __ldg(srow[r] + vi / 2);
#pragma unroll
        for (int m = 0; m < kGemvMaxRows; ++m) acc[r][m] = fmaf(part[r][m], scale, acc[r][m]);
      }
    }
  }
  float total = 0.0f;
#pragma unroll
  for (int r = 0; r < kFeaturesPerWarp; ++r)
#pragma unroll
    for (int m = 0; m < kGemvMaxRows; ++m) {
      if (m >= rows) break;
      const float s = warp_sum(acc[r][m]);
      if (lane == r * kGemvMaxRows + m) total = s;
    }
  const float partner = __shfl_down_sync(kFullMask, total, kHalf * kGemvMaxRows);
  const int r = lane / kGemvMaxRows, m = lane % kGemvMaxRows;
  if (r >= kFeaturesPerWarp || m >= rows) return;
  const std::int64_t n = n0 + r;
  if (p.gated) {
    if (r < kHalf && n < half) store_gated<O>(p, m, n, total, partner);
  } else if (n < p.out_features) {
    store_feature<O>(p, m, n, total);
  }
}

void gemv_q4(const GemvParams& p, const float* block_scales, const Q4Table& table, cudaStream_t stream) {
  if (p.rows < 0 || p.rows > kGemvMaxRows) throw CudaError("gemv_q4: " + std::to_string(p.rows) + " rows (at most 4)");
  if (p.in % kQ4BlockValues != 0 || p.scales)
    throw CudaError("gemv_q4: in_features " + std::to_string(p.in) + " must be a multiple of 64, per-channel scales null");
  if (p.gated && (p.out_features % 2 != 0 || p.bias || p.accumulate))
    throw CudaError("gemv_q4: the gated epilogue needs an even stack without bias or accumulate");
  if (p.rows == 0 || p.out_features == 0) return;
  constexpr int kPerBlock = kWarpsPerBlock * kFeaturesPerWarp;
  const unsigned blocks = p.gated ? blocks_for(p.out_features / 2, kPerBlock / 2) : blocks_for(p.out_features, kPerBlock);
  dispatch_element(p.activation, [&](auto x_tag) {
    using X = decltype(x_tag);
    if (p.out_type == ElementType::F32) gemv_q4_kernel<X, float><<<blocks, kThreads, 0, stream>>>(p, block_scales, table);
    else gemv_q4_kernel<X, __nv_bfloat16><<<blocks, kThreads, 0, stream>>>(p, block_scales, table);
  });
  CUDA_CHECK_LAUNCH();
}

// One byte (two values) per thread and iteration.
static __global__ void widen_q4_kernel(WidenQ4Params p, Q4Table t) {
  const std::int64_t pairs = p.stored_rows * p.in / 2, stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::uint8_t* codes = static_cast<const std::uint8_t*>(p.codes);
  auto* out = static_cast<__nv_bfloat162*>(p.out);
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < pairs; i += stride) {
    const std::int64_t row = 2 * i / p.in;
    if (row >= p.out_features) {
      out[i] = __floats2bfloat162_rn(0.0f, 0.0f);
      continue;
    }
    const std::uint8_t pair = codes[i];
    const float scale = p.block_scales[row * (p.in / kQ4BlockValues) + (2 * i % p.in) / kQ4BlockValues];
    out[i] = __floats2bfloat162_rn(t.values[pair & 0xfu] * scale, t.values[pair >> 4] * scale);
  }
}

void widen_q4(const WidenQ4Params& p, const Q4Table& table, cudaStream_t stream) {
  if (p.in % kQ4BlockValues != 0) throw CudaError("widen_q4: in_features must be a multiple of 64");
  const std::int64_t pairs = p.stored_rows * p.in / 2;
  if (pairs == 0) return;
  constexpr int kWidenThreads = 256;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((pairs + kWidenThreads - 1) / kWidenThreads, 8192));
  widen_q4_kernel<<<blocks, kWidenThreads, 0, stream>>>(p, table);
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
