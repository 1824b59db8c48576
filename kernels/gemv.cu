#include <string>

#include "kernels/common.cuh"
#include "kernels/gemv.cuh"
#include "kernels/gemv_epilogue.cuh"
#include "kernels/gemv_mma.cuh"

namespace hs::kernels {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = kWarpsPerBlock * kWarpSize;
constexpr int kVectorBytes = 16;
// Output features per warp (each x vector is loaded once for all of them) and 16-byte weight
// vectors in flight per lane and feature: the fastest of 2-8 × 2-8 at the decode shapes on an
// H200 (2026-11-25), 4 × 4 for bf16 weights, 2 × 8 otherwise.
template <typename W> inline constexpr int kFeaturesPerWarp = sizeof(W) == 2 ? 4 : 2;
template <typename W> inline constexpr int kUnroll = sizeof(W) == 2 ? 4 : 8;

}  // namespace

// Lanes stride over the rows in 16-byte weight vectors; each lane first issues every load of one
// unrolled chunk (kFeaturesPerWarp × kUnroll vectors), then, per vector position, loads the M
// x rows once and does the FMAs of all the warp's features against them. kSplitK: every warp
// owns its features (false), or the block's warps share theirs, interleaving their vectors
// (warp s takes vectors s·32 + lane + i·128), and sum through shared memory (small grids: more
// warps per SM).
template <typename X, typename W, typename O, bool kSplitK>
static __global__ void __launch_bounds__(kThreads) gemv_kernel(GemvParams p) {
  await_previous_kernel();
  constexpr int kElems = kVectorBytes / static_cast<int>(sizeof(W));
  constexpr int kFeaturesPerWarp = hs::kernels::kFeaturesPerWarp<W>;
  constexpr int kUnroll = hs::kernels::kUnroll<W>;
  constexpr int kHalf = kFeaturesPerWarp / 2;  // gated: gate features j, j + 1 and up F + j, F + j + 1
  constexpr int kSplit = kSplitK ? kWarpsPerBlock : 1;
  __shared__ float split_totals[kSplit][kWarpSize];
  const int lane = threadIdx.x % kWarpSize, split = threadIdx.x / kWarpSize % kSplit;
  const std::int64_t warp = (static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize) / kSplit;
  const std::int64_t half = p.out_features / 2;
  const std::int64_t n0 = warp * (p.gated ? kHalf : kFeaturesPerWarp);
  if (n0 >= (p.gated ? half : p.out_features)) return;  // the whole block when splitting
  // The warp's features (a missing one past the end re-reads the last row and is not written).
  std::int64_t feature[kFeaturesPerWarp];
#pragma unroll
  for (int r = 0; r < kFeaturesPerWarp; ++r) {
    const std::int64_t f = p.gated ? (r < kHalf ? n0 + r : half + n0 + r - kHalf) : n0 + r;
    feature[r] = f < p.out_features ? f : p.out_features - 1;
  }
  const int rows = static_cast<int>(p.rows);
  const std::int64_t vectors = p.in / kElems;
  const uint4* wrow[kFeaturesPerWarp];
#pragma unroll
  for (int r = 0; r < kFeaturesPerWarp; ++r)
    wrow[r] = reinterpret_cast<const uint4*>(static_cast<const W*>(p.weight) + feature[r] * p.in);
  const X* x = static_cast<const X*>(p.x);
  float acc[kFeaturesPerWarp][kGemvMaxRows] = {};
  constexpr int kStride = kSplit * kWarpSize;  // vectors between a lane's consecutive loads
  for (std::int64_t base = lane + split * kWarpSize; base < vectors; base += kStride * kUnroll) {
    uint4 w[kFeaturesPerWarp][kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int r = 0; r < kFeaturesPerWarp; ++r)
        w[r][u] = base + u * kStride < vectors ? load_streaming(wrow[r] + base + u * kStride) : uint4{};
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t vi = base + u * kStride;
      if (vi >= vectors) break;
      float xf[kGemvMaxRows][kElems];
#pragma unroll
      for (int m = 0; m < kGemvMaxRows; ++m)
        if (m < rows) load_floats<X, kElems>(x + m * p.in + vi * kElems, xf[m]);
#pragma unroll
      for (int r = 0; r < kFeaturesPerWarp; ++r) {
        float wf[kElems];
        unpack_vector<W>(w[r][u], wf);
#pragma unroll
        for (int m = 0; m < kGemvMaxRows; ++m) {
          if (m >= rows) break;
#pragma unroll
          for (int e = 0; e < kElems; ++e) acc[r][m] = fmaf(wf[e], xf[m][e], acc[r][m]);
        }
      }
    }
  }
  // Reduce every (feature, row) sum over the warp; lane r · kGemvMaxRows + m keeps that total.
  float total = 0.0f;
#pragma unroll
  for (int r = 0; r < kFeaturesPerWarp; ++r)
#pragma unroll
    for (int m = 0; m < kGemvMaxRows; ++m) {
      if (m >= rows) break;
      const float s = warp_sum(acc[r][m]);
      if (lane == r * kGemvMaxRows + m) total = s;
    }
  if constexpr (kSplitK) {
    split_totals[split][lane] = total;
    __syncthreads();
    if (split != 0) return;
    total = 0.0f;
#pragma unroll
    for (int k = 0; k < kSplit; ++k) total += split_totals[k][lane];
  }
  // Gated: the gate lanes (r < kHalf) take their up partner's total, from lane (r + kHalf, m).
  const float partner = __shfl_down_sync(kFullMask, total, kHalf * kGemvMaxRows);
  const int r = lane / kGemvMaxRows, m = lane % kGemvMaxRows;
  if (r >= kFeaturesPerWarp || m >= rows) return;
  auto scaled = [&](float sum, std::int64_t n) { return p.scales ? sum * p.scales[n] : sum; };
  const std::int64_t n = n0 + r;
  if (p.gated) {
    if (r < kHalf && n < half) store_gated<O>(p, m, n, scaled(total, n), scaled(partner, half + n));
  } else if (n < p.out_features) {
    store_feature<O>(p, m, n, scaled(total, n));
  }
}

namespace {

// Grids under kSmallGrid blocks of independent warps (≲ 2 per SM of an H200) split in_features
// over the block's warps instead: bf16 3072 × 8192 19.1 vs 22.6 µs, 3072 × 3072 9.8 vs 10.8 µs;
// splitting 5120 × 3072 (320 blocks) was slower, 14.4 vs 13.5 µs (H200, 2026-11-25, CUDA-Graph
// replay of 60 launches over rotating weights; a standalone sweep, not kept).
constexpr unsigned kSmallGrid = 256;

template <typename X, typename W>
void launch_gemv(const GemvParams& p, cudaStream_t stream) {
  constexpr int kPerBlock = kWarpsPerBlock * kFeaturesPerWarp<W>;
  const unsigned blocks = p.gated ? blocks_for(p.out_features / 2, kPerBlock / 2) : blocks_for(p.out_features, kPerBlock);
  if (blocks < kSmallGrid) {
    const unsigned split_blocks = blocks * kWarpsPerBlock;
    if (p.out_type == ElementType::F32) launch(gemv_kernel<X, W, float, true>, split_blocks, kThreads, stream, p);
    else launch(gemv_kernel<X, W, __nv_bfloat16, true>, split_blocks, kThreads, stream, p);
  } else if (p.out_type == ElementType::F32) {
    launch(gemv_kernel<X, W, float, false>, blocks, kThreads, stream, p);
  } else {
    launch(gemv_kernel<X, W, __nv_bfloat16, false>, blocks, kThreads, stream, p);
  }
}

}  // namespace

void gemv(const GemvParams& p, cudaStream_t stream) {
  if (p.rows < 0 || p.rows > kGemvMaxRows) throw CudaError("gemv: " + std::to_string(p.rows) + " rows (at most 4)");
  const std::int64_t weight_bytes = p.weight_type == WeightType::FP8 ? 1 : p.weight_type == WeightType::BF16 ? 2 : 4;
  if ((p.in * weight_bytes) % kVectorBytes != 0)
    throw CudaError("gemv: in_features " + std::to_string(p.in) + " is not a multiple of 16 bytes of weights");
  if (p.gated && (p.out_features % 2 != 0 || p.bias || p.accumulate || p.weight_type == WeightType::F32))
    throw CudaError("gemv: the gated epilogue needs an even bf16 / fp8 stack without bias or accumulate");
  if (p.rows == 0 || p.out_features == 0) return;
  if (gemv_mma_supported(p)) {
    gemv_mma(p, stream);
  } else if (p.weight_type == WeightType::F32) {
    if (p.activation != ElementType::F32 || p.out_type != ElementType::F32)
      throw CudaError("gemv: fp32 weights need fp32 activations and output");
    launch(gemv_kernel<float, float, float, false>,
           blocks_for(p.out_features, kWarpsPerBlock * kFeaturesPerWarp<float>), kThreads, stream, p);
  } else {
    dispatch_element(p.activation, [&](auto x_tag) {
      using X = decltype(x_tag);
      if (p.weight_type == WeightType::BF16) launch_gemv<X, __nv_bfloat16>(p, stream);
      else launch_gemv<X, __nv_fp8_e4m3>(p, stream);
    });
  }
}

}  // namespace hs::kernels
