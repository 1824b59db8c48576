#include "kernels/common.cuh"
#include "kernels/gemv_epilogue.cuh"
#include "kernels/gemv_mma.cuh"

namespace hs::kernels {
namespace {

constexpr int kFeatures = 8;      // n of m16n8k16: the weight rows of a block
constexpr int kLanesPerRow = 4;   // lanes (threadID_in_group) sharing one weight row per chunk
constexpr int kUnroll = 8;        // 16-byte weight vectors in flight per lane
constexpr float kFp8Unscale = 0x1p120f;

// Two E4M3 values (bytes lo, lo + 1 of w) as a bf16x2 word holding them times 2^-120: each byte
// s eeee mmm moves to the high byte of its half, then the half becomes s 0000 eeee mmm 0000.
template <bool kHigh>
__device__ __forceinline__ std::uint32_t widen_fp8_pair(std::uint32_t w) {
  const std::uint32_t x = __byte_perm(w, 0, kHigh ? 0x3424 : 0x1404);  // [b1 0 b0 0] or [b3 0 b2 0]
  return (x & 0x80008000u) | ((x >> 4) & 0x07f007f0u);
}

// The 16 fp8 values of a vector as 8 bf16x2 words: the mma's B operands.
__device__ __forceinline__ void weight_pairs(const uint4& v, std::uint32_t* out) {
  const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = widen_fp8_pair<false>(words[i]);
    out[2 * i + 1] = widen_fp8_pair<true>(words[i]);
  }
}

// The 16 x values (bf16, or fp32 rounded to bf16) at x[k .. k + 16) as 8 bf16x2 words: the mma's
// A operands for the 16 weights of one vector.
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

}  // namespace

// Block: 8 features (gated: gate j..j+3 and up F+j..F+j+3), kSplitWarps warps each taking every
// kSplitWarps-th chunk of in_features. Lane (g = lane / 4, t = lane % 4) streams weight row g and
// reads x row g (g < M). A chunk is 4 vectors per row, vector t to lane t; every k of the lane's
// vector is paired with the same k of x in the A operand, so the mma's k slots may hold any k:
// pair 2j of the vector fills slots (2t, 2t + 1) and pair 2j + 1 slots (2t + 8, 2t + 9) of mma j.
template <typename X, typename O, int kSplitWarps>
static __global__ void __launch_bounds__(kSplitWarps * kWarpSize) gemv_mma_kernel(GemvParams p) {
  constexpr int kElems = 16;  // fp8 weights per vector
  constexpr int kPairs = kElems / 2;
  __shared__ float partial[kSplitWarps][kWarpSize][2];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int g = lane / kLanesPerRow, t = lane % kLanesPerRow;
  const int rows = static_cast<int>(p.rows);
  const std::int64_t half = p.out_features / 2;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * (p.gated ? kFeatures / 2 : kFeatures);
  std::int64_t feature = p.gated ? (g < kFeatures / 2 ? first + g : half + first + g - kFeatures / 2) : first + g;
  feature = feature < p.out_features ? feature : p.out_features - 1;  // past the end: re-read, not written
  const uint4* wrow = reinterpret_cast<const uint4*>(static_cast<const std::uint8_t*>(p.weight) + feature * p.in);
  const X* xrow = static_cast<const X*>(p.x) + static_cast<std::int64_t>(g < rows ? g : 0) * p.in;
  const std::int64_t chunks = p.in / (kLanesPerRow * kElems);
  float acc[4] = {};
  for (std::int64_t c0 = warp; c0 < chunks; c0 += kSplitWarps * kUnroll) {
    uint4 w[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t c = c0 + u * kSplitWarps;
      w[u] = c < chunks ? load_streaming(wrow + c * kLanesPerRow + t) : uint4{};
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t c = c0 + u * kSplitWarps;
      if (c >= chunks) break;
      std::uint32_t b[kPairs], a[kPairs] = {};
      weight_pairs(w[u], b);
      if (g < rows) x_pairs(xrow + (c * kLanesPerRow + t) * kElems, a);
#pragma unroll
      for (int j = 0; j < kPairs / 2; ++j) mma_bf16(acc, a[2 * j], a[2 * j + 1], b[2 * j], b[2 * j + 1]);
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
  auto scaled = [&](float v, std::int64_t n) { return v * (p.scales[n] * kFp8Unscale); };
  if (p.gated) {
    // Lanes t < 2 hold gate features 2t, 2t + 1; lane + 2 holds their up partners.
    float up[2];
#pragma unroll
    for (int e = 0; e < 2; ++e) up[e] = __shfl_down_sync(kFullMask, sum[e], 2);
    if (t >= 2 || g >= rows) return;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const std::int64_t n = first + 2 * t + e;
      if (n < half) store_gated<O>(p, g, n, scaled(sum[e], n), scaled(up[e], half + n));
    }
    return;
  }
  if (g >= rows) return;
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const std::int64_t n = first + 2 * t + e;
    if (n < p.out_features) store_feature<O>(p, g, n, scaled(sum[e], n));
  }
}

bool gemv_mma_supported(const GemvParams& p) {
  return p.weight_type == WeightType::FP8 && p.in % (kLanesPerRow * 16) == 0;
}

template <int kSplitWarps>
static void launch_gemv_mma(const GemvParams& p, unsigned blocks, cudaStream_t stream) {
  constexpr unsigned threads = kSplitWarps * kWarpSize;
  dispatch_element(p.activation, [&](auto x_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      gemv_mma_kernel<decltype(x_tag), decltype(out_tag), kSplitWarps><<<blocks, threads, 0, stream>>>(p);
    });
  });
}

// Small grids (under ~4 blocks per SM of an H200) get 8 warps per block, the rest 4: the faster
// of 4, 8 and 16 at every decode shape of the 3B + 300M model (H200, 2026-11-25, CUDA-Graph replay
// of 60 launches over rotating weights, a standalone sweep not kept: 3072 × 3072 5.6 vs 7.2 µs,
// 3072 × 8192 12.3 vs 15.7 µs, [w1; w3] 16384 × 3072 21.0 vs 21.1 µs). Unroll 4 instead of 8,
// occupancy hints and per-warp contiguous K ranges changed none of them by more than ~0.8 µs.
void gemv_mma(const GemvParams& p, cudaStream_t stream) {
  constexpr unsigned kSmallGrid = 512;
  const unsigned blocks = p.gated ? blocks_for(p.out_features / 2, kFeatures / 2) : blocks_for(p.out_features, kFeatures);
  if (blocks < kSmallGrid) launch_gemv_mma<8>(p, blocks, stream);
  else launch_gemv_mma<4>(p, blocks, stream);
}

}  // namespace hs::kernels
