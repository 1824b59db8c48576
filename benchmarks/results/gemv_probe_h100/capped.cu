// The real fp8 GEMV kernel (kernels/gemv_mma_kernel.cuh) with its registers capped through
// __launch_bounds__ minimum blocks per SM (the file's copy differs only there).
#include "capped_kernel.cuh"  // kernels/gemv_mma_kernel.cuh with W::kMinBlocks in __launch_bounds__ (gemv_probe_h100.json)

namespace hs::kernels {
constexpr float kFp8Unscale = 0x1p120f;
template <bool kHigh>
__device__ __forceinline__ std::uint32_t widen_fp8_pair(std::uint32_t w) {
  const std::uint32_t x = __byte_perm(w, 0, kHigh ? 0x3424 : 0x1404);
  return (x & 0x80008000u) | ((x >> 4) & 0x07f007f0u);
}
template <int kMin, int kU>
struct CappedFp8 {
  using Vector = uint4;
  static constexpr int kBits = 8;
  static constexpr int kUnroll = kU;
  static constexpr int kMinBlocks = kMin;
  static constexpr bool kBlockScaled = false;
  const float* block_scales = nullptr;
  __device__ __forceinline__ void pairs(const uint4& v, std::uint32_t* out) const {
    const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) { out[2 * i] = widen_fp8_pair<false>(words[i]); out[2 * i + 1] = widen_fp8_pair<true>(words[i]); }
  }
  __device__ __forceinline__ static void arrange_x(std::uint32_t*) {}
  __device__ __forceinline__ float scale(const GemvParams& p, std::int64_t n) const { return p.scales[n] * kFp8Unscale; }
};
}  // namespace hs::kernels

template <int kMin, int kU, int kWarps>
void capped_gemv(const hs::kernels::GemvParams& p, cudaStream_t s) {
  using namespace hs::kernels;
  const unsigned blocks = p.gated ? blocks_for(p.out_features / 2, kMmaFeatures / 2) : blocks_for(p.out_features, kMmaFeatures);
  launch(gemv_mma_kernel<CappedFp8<kMin, kU>, __nv_bfloat16, float, kWarps>, blocks, kWarps * kWarpSize, s, p, CappedFp8<kMin, kU>{});
}
template void capped_gemv<1, 8, 4>(const hs::kernels::GemvParams&, cudaStream_t);
template void capped_gemv<8, 8, 4>(const hs::kernels::GemvParams&, cudaStream_t);
template void capped_gemv<10, 8, 4>(const hs::kernels::GemvParams&, cudaStream_t);
template void capped_gemv<12, 4, 4>(const hs::kernels::GemvParams&, cudaStream_t);
template void capped_gemv<4, 8, 8>(const hs::kernels::GemvParams&, cudaStream_t);
template void capped_gemv<5, 4, 8>(const hs::kernels::GemvParams&, cudaStream_t);
