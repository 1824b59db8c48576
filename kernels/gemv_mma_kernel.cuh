// The tensor-core GEMV kernel shared by fp8 (gemv_mma.cu) and 4-bit (q4.cu) weights: the M ≤ 4 x
// rows (bf16, or fp32 rounded to bf16 on load) are the A operand of mma.m16n8k16 (rows ≥ M zero),
// 8 weight rows the B operand, fp32 accumulation. A weight format is a policy W that loads a lane's
// 16 weights of a 64-wide chunk (W::Vector) and turns them into 8 bf16x2 words, exactly (the fp8
// bits moved into bf16 bits, 4-bit codes looked up or offset), so no conversion instruction or
// scalar FMA runs per weight. Internal to the GEMV's .cu files.
#pragma once

#include "kernels/common.cuh"
#include "kernels/gemv_epilogue.cuh"

namespace hs::kernels {

inline constexpr int kMmaFeatures = 8;      // n of m16n8k16: the weight rows of a block
inline constexpr int kMmaLanesPerRow = 4;   // lanes (threadID_in_group) sharing one weight row
inline constexpr int kMmaLaneValues = 16;   // weights per lane and chunk
inline constexpr std::int64_t kMmaChunk = kMmaLanesPerRow * kMmaLaneValues;

__device__ __forceinline__ uint2 load_streaming(const uint2* p) {
  uint2 v;
  asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];" : "=r"(v.x), "=r"(v.y) : "l"(p));
  return v;
}

// The 16 x values (bf16, or fp32 rounded to bf16) at x[k .. k + 16) as 8 bf16x2 words: the mma's
// A operands for a lane's 16 weights.
__device__ __forceinline__ void x_pairs(const __nv_bfloat16* x, std::uint32_t* out) {
  const uint4* v = reinterpret_cast<const uint4*>(x);
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const uint4 w = __ldg(v + i);
    out[4 * i] = w.x, out[4 * i + 1] = w.y, out[4 * i + 2] = w.z, out[4 * i + 3] = w.w;
  }
}
__device__ __forceinline__ void x_pairs(const float* x, std::uint32_t* out) {
  const float4* v = reinterpret_cast<const float4*>(x);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float4 f = __ldg(v + i);
    const __nv_bfloat162 lo = __floats2bfloat162_rn(f.x, f.y), hi = __floats2bfloat162_rn(f.z, f.w);
    out[2 * i] = *reinterpret_cast<const std::uint32_t*>(&lo);
    out[2 * i + 1] = *reinterpret_cast<const std::uint32_t*>(&hi);
  }
}

// acc (row g, columns 2t, 2t + 1; the zero rows g + 8 in acc[2..3]) += A · B over 16 k.
__device__ __forceinline__ void mma_bf16(float* acc, std::uint32_t a0, std::uint32_t a2, std::uint32_t b0,
                                         std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
}

// A launch shape: warps per block, weight vectors in flight per lane, and the blocks an SM must
// hold at once (registers capped to fit).
template <int kWarpsPerBlock, int kVectorsInFlight, int kMinBlocksPerSm>
struct GemvGrid {
  static constexpr int kWarps = kWarpsPerBlock, kUnroll = kVectorsInFlight, kBlocksPerSm = kMinBlocksPerSm;
};

// Block: 8 features (gated: gate j..j+3 and up F+j..F+j+3), kSplitWarps warps each taking every
// kSplitWarps-th 64-wide chunk of in_features. Lane (g = lane / 4, t = lane % 4) streams weight
// row g and reads x row g (g < M); of each chunk it takes values 16t .. 16t + 16. Word q of
// W::pairs pairs with word q of x_pairs after W::arrange_x, so the mma's k slots may hold any k:
// words 2j, 2j + 1 fill slots (2t, 2t + 1) and (2t + 8, 2t + 9) of mma j. W::kBlockScaled: each
// chunk's sums are scaled by the chunk's scale of their feature (W::block_scales [out, chunks])
// before they add up; W::scale(p, n) scales feature n's total. G: the launch shape (GemvGrid).
template <typename W, typename X, typename O, typename G>
__global__ void __launch_bounds__(G::kWarps * kWarpSize, G::kBlocksPerSm)
    gemv_mma_kernel(GemvParams p, W weights) {
  await_previous_kernel();
  using Vector = typename W::Vector;
  constexpr int kSplitWarps = G::kWarps, kUnroll = G::kUnroll;
  constexpr int kPairs = kMmaLaneValues / 2;
  __shared__ float partial[kSplitWarps][kWarpSize][2];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int g = lane / kMmaLanesPerRow, t = lane % kMmaLanesPerRow;
  const int rows = static_cast<int>(p.rows);
  const std::int64_t half = p.out_features / 2;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * (p.gated ? kMmaFeatures / 2 : kMmaFeatures);
  const auto feature_of = [&](int i) {  // past the end: re-read, not written
    const std::int64_t f = p.gated ? (i < kMmaFeatures / 2 ? first + i : half + first + i - kMmaFeatures / 2) : first + i;
    return f < p.out_features ? f : p.out_features - 1;
  };
  const auto* wrow = reinterpret_cast<const Vector*>(static_cast<const std::uint8_t*>(p.weight) +
                                                     feature_of(g) * (p.in * W::kBits / 8));
  const X* xrow = static_cast<const X*>(p.x) + static_cast<std::int64_t>(g < rows ? g : 0) * p.in;
  const std::int64_t chunks = p.in / kMmaChunk;
  [[maybe_unused]] const float* srow[2] = {};
  if constexpr (W::kBlockScaled)
    for (int e = 0; e < 2; ++e) srow[e] = weights.block_scales + feature_of(2 * t + e) * chunks;
  float acc[4] = {};
  for (std::int64_t c0 = warp; c0 < chunks; c0 += kSplitWarps * kUnroll) {
    Vector w[kUnroll];
    [[maybe_unused]] float2 s[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t c = c0 + u * kSplitWarps;
      w[u] = c < chunks ? load_streaming(wrow + c * kMmaLanesPerRow + t) : Vector{};
      if constexpr (W::kBlockScaled) s[u] = c < chunks ? make_float2(__ldg(srow[0] + c), __ldg(srow[1] + c)) : float2{};
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t c = c0 + u * kSplitWarps;
      if (c >= chunks) break;
      std::uint32_t b[kPairs], a[kPairs] = {};
      weights.pairs(w[u], b);
      if (g < rows) {
        x_pairs(xrow + c * kMmaChunk + t * kMmaLaneValues, a);
        W::arrange_x(a);
      }
      if constexpr (W::kBlockScaled) {
        float part[4] = {};
#pragma unroll
        for (int j = 0; j < kPairs / 2; ++j) mma_bf16(part, a[2 * j], a[2 * j + 1], b[2 * j], b[2 * j + 1]);
        acc[0] = fmaf(part[0], s[u].x, acc[0]);
        acc[1] = fmaf(part[1], s[u].y, acc[1]);
      } else {
#pragma unroll
        for (int j = 0; j < kPairs / 2; ++j) mma_bf16(acc, a[2 * j], a[2 * j + 1], b[2 * j], b[2 * j + 1]);
      }
    }
  }
  // Sum the warps' (row g, features 2t, 2t + 1) in warp 0.
  partial[warp][lane][0] = acc[0];
  partial[warp][lane][1] = acc[1];
  __syncthreads();
  if (warp != 0) return;
  float sum[2] = {};
#pragma unroll
  for (int s = 0; s < kSplitWarps; ++s) sum[0] += partial[s][lane][0], sum[1] += partial[s][lane][1];
  if (p.gated) {
    // Lanes t < 2 hold gate features 2t, 2t + 1; lane + 2 holds their up partners.
    float up[2];
#pragma unroll
    for (int e = 0; e < 2; ++e) up[e] = __shfl_down_sync(kFullMask, sum[e], 2);
    if (t >= 2 || g >= rows) return;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const std::int64_t n = first + 2 * t + e;
      if (n < half) store_gated<O>(p, g, n, sum[e] * weights.scale(p, n), up[e] * weights.scale(p, half + n));
    }
    return;
  }
  if (g >= rows) return;
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const std::int64_t n = first + 2 * t + e;
    if (n < p.out_features) store_feature<O>(p, g, n, sum[e] * weights.scale(p, n));
  }
}

// Small grids (under ~4 blocks per SM of an H200) take W::SmallGrid: 8 warps per block, registers
// capped so that they run in one wave, the faster of 4, 8 and 16 warps at every decode shape of
// the 3B + 300M model with fp8 weights (H200, 2026-11-25, CUDA-Graph replay of 60 launches over
// rotating weights, a standalone sweep not kept: 3072 × 3072 5.6 vs 7.2 µs, 3072 × 8192 12.3 vs
// 15.7 µs). 4-bit weights (H200, 2026-12-04, the same kind of sweep): 8 vectors of 8 bytes in
// flight instead of 16 and 3 blocks of 8 warps per SM (registers 128 → 85: one wave at 3072 × 3072
// instead of 1.45) took 3072 × 3072 from 9.5 to 6.2 µs and 3072 × 8192 from 17.7 to 12.2 µs.
// Larger grids take W::LargeGrid: the weight vectors in flight live in registers, so the blocks an
// SM holds bound the bytes in flight (benchmarks/results/gemv_probe_h100.json). Staging them in
// shared memory instead lost: a lane-private cp.async ring at small grids and at 4-bit weights
// (gemv_large_grid_h100.json), a block's whole rows by bulk copies everywhere (frames +22-31 %,
// gemv_staged_rows_h200.json). Blocks of two 8-feature tiles sharing x's registers were no faster
// (gemv_feature_tiles_h100.json).
template <typename W>
void launch_gemv_mma(const GemvParams& p, const W& weights, cudaStream_t stream) {
  constexpr unsigned kSmallGrid = 512;
  const unsigned blocks =
      p.gated ? blocks_for(p.out_features / 2, kMmaFeatures / 2) : blocks_for(p.out_features, kMmaFeatures);
  const auto run = [&](auto grid) {
    using G = decltype(grid);
    dispatch_element(p.activation, [&](auto x_tag) {
      dispatch_element(p.out_type, [&](auto out_tag) {
        launch(gemv_mma_kernel<W, decltype(x_tag), decltype(out_tag), G>, blocks, G::kWarps * kWarpSize, stream, p,
               weights);
      });
    });
  };
  if (blocks < kSmallGrid) run(typename W::SmallGrid{});
  else run(typename W::LargeGrid{});
}

}  // namespace hs::kernels
