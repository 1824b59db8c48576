#include "kernels/gemv_mma.cuh"
#include "kernels/gemv_mma_kernel.cuh"

namespace hs::kernels {
namespace {

constexpr float kFp8Unscale = 0x1p120f;

// Two E4M3 values (bytes lo, lo + 1 of w) as a bf16x2 word holding them times 2^-120: each byte
// s eeee mmm moves to the high byte of its half, then the half becomes s 0000 eeee mmm 0000.
template <bool kHigh>
__device__ __forceinline__ std::uint32_t widen_fp8_pair(std::uint32_t w) {
  const std::uint32_t x = __byte_perm(w, 0, kHigh ? 0x3424 : 0x1404);  // [b1 0 b0 0] or [b3 0 b2 0]
  return (x & 0x80008000u) | ((x >> 4) & 0x07f007f0u);
}

// fp8 E4M3 weights with per-channel scales: a lane's 16 values are one 16-byte vector; the
// factor 2^-120 of the widening is undone with the scale.
struct Fp8Weights {
  using Vector = uint4;
  static constexpr int kBits = 8;
  using SmallGrid = GemvGrid<8, 8, 1>;  // gemv_mma_kernel.cuh: the sweep that chose it
  // 512 blocks or more (q/k/v, [w1; w3], the heads): 8 warps of 4 vectors, 5 blocks per SM (48
  // registers; fp32 x spills 16 bytes) instead of 4 warps of 8 vectors at 72-86: 8192 × 3072
  // 16.3 → 13.2 µs, a fp8 frame 3.75 → 3.64 ms (H100, benchmarks/results/gemv_large_grid_h100.json).
  using LargeGrid = GemvGrid<8, 4, 5>;
  static constexpr bool kBlockScaled = false;
  const float* block_scales = nullptr;

  __device__ __forceinline__ void pairs(const uint4& v, std::uint32_t* out) const {
    const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      out[2 * i] = widen_fp8_pair<false>(words[i]);
      out[2 * i + 1] = widen_fp8_pair<true>(words[i]);
    }
  }
  __device__ __forceinline__ static void arrange_x(std::uint32_t*) {}
  __device__ __forceinline__ float scale(const GemvParams& p, std::int64_t n) const { return p.scales[n] * kFp8Unscale; }
};

}  // namespace

bool gemv_mma_supported(const GemvParams& p) { return p.weight_type == WeightType::FP8 && p.in % kMmaChunk == 0; }

void gemv_mma(const GemvParams& p, cudaStream_t stream) { launch_gemv_mma(p, Fp8Weights{}, stream); }

}  // namespace hs::kernels
