#include <string>

#include "kernels/common.cuh"
#include "kernels/gemv.cuh"

namespace hs::kernels {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = kWarpsPerBlock * kWarpSize;
constexpr int kRowsPerWarp = 2;  // output features per warp: x vectors are loaded once for both
constexpr int kRowsPerBlock = kWarpsPerBlock * kRowsPerWarp;
constexpr int kVectorBytes = 16;
constexpr int kUnroll = 8;  // 16-byte weight vectors in flight per lane and feature

}  // namespace

// Lanes stride over the rows in 16-byte weight vectors; each lane first issues every load of one
// unrolled chunk (kRowsPerWarp × kUnroll vectors), then does the FMAs against the M x rows.
template <typename X, typename W, typename O>
static __global__ void __launch_bounds__(kThreads) gemv_kernel(GemvParams p) {
  constexpr int kElems = kVectorBytes / static_cast<int>(sizeof(W));
  static_assert(kRowsPerWarp == 2, "the gated epilogue pairs a warp's two features");
  const int lane = threadIdx.x % kWarpSize;
  const std::int64_t warp = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  const std::int64_t half = p.out_features / 2;
  if (p.gated ? warp >= half : warp * kRowsPerWarp >= p.out_features) return;
  // Features: n0, n0 + 1 (a missing last one re-reads n0), or gated j and F + j.
  const std::int64_t n0 = p.gated ? warp : warp * kRowsPerWarp;
  const std::int64_t feature[kRowsPerWarp] = {n0, p.gated ? half + n0 : (n0 + 1 < p.out_features ? n0 + 1 : n0)};
  const int rows = static_cast<int>(p.rows);
  const std::int64_t vectors = p.in / kElems;
  const uint4* wrow[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
    wrow[r] = reinterpret_cast<const uint4*>(static_cast<const W*>(p.weight) + feature[r] * p.in);
  const X* x = static_cast<const X*>(p.x);
  float acc[kRowsPerWarp][kGemvMaxRows] = {};
  for (std::int64_t base = lane; base < vectors; base += kWarpSize * kUnroll) {
    uint4 w[kRowsPerWarp][kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        w[r][u] = base + u * kWarpSize < vectors ? load_streaming(wrow[r] + base + u * kWarpSize) : uint4{};
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t vi = base + u * kWarpSize;
      if (vi >= vectors) break;
      float wf[kRowsPerWarp][kElems];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) unpack_vector<W>(w[r][u], wf[r]);
#pragma unroll
      for (int m = 0; m < kGemvMaxRows; ++m) {
        if (m >= rows) break;
        float xf[kElems];
        load_floats<X, kElems>(x + m * p.in + vi * kElems, xf);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
          for (int e = 0; e < kElems; ++e) acc[r][m] = fmaf(wf[r][e], xf[e], acc[r][m]);
      }
    }
  }
  O* out = static_cast<O*>(p.out[0]);
  if (p.gated) {
#pragma unroll
    for (int m = 0; m < kGemvMaxRows; ++m) {
      if (m >= rows) break;
      const float g = warp_sum(acc[0][m]) * (p.scales ? p.scales[feature[0]] : 1.0f);
      const float u = warp_sum(acc[1][m]) * (p.scales ? p.scales[feature[1]] : 1.0f);
      if (lane == m) out[m * p.widths[0] + n0] = from_float<O>(g / (1.0f + expf(-g)) * u);
    }
    return;
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const std::int64_t n = n0 + r;
#pragma unroll
    for (int m = 0; m < kGemvMaxRows; ++m) {
      if (m >= rows) break;
      const float total = warp_sum(acc[r][m]);
      if (lane != r * kGemvMaxRows + m || n >= p.out_features) continue;
      float v = total * (p.scales ? p.scales[n] : 1.0f) + (p.bias ? p.bias[n] : 0.0f);
      int part = 0;
      std::int64_t column = n;
      while (part + 1 < kGemvMaxOutputs && column >= p.widths[part]) column -= p.widths[part++];
      O* y = static_cast<O*>(p.out[part]) + m * p.widths[part] + column;
      if (p.accumulate) v += to_float(*y);
      *y = from_float<O>(v);
    }
  }
}

namespace {

template <typename X, typename W>
void launch(const GemvParams& p, cudaStream_t stream) {
  const unsigned blocks =
      p.gated ? blocks_for(p.out_features / 2, kWarpsPerBlock) : blocks_for(p.out_features, kRowsPerBlock);
  if (p.out_type == ElementType::F32) gemv_kernel<X, W, float><<<blocks, kThreads, 0, stream>>>(p);
  else gemv_kernel<X, W, __nv_bfloat16><<<blocks, kThreads, 0, stream>>>(p);
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
  if (p.weight_type == WeightType::F32) {
    if (p.activation != ElementType::F32 || p.out_type != ElementType::F32)
      throw CudaError("gemv: fp32 weights need fp32 activations and output");
    gemv_kernel<float, float, float><<<blocks_for(p.out_features, kRowsPerBlock), kThreads, 0, stream>>>(p);
  } else {
    dispatch_element(p.activation, [&](auto x_tag) {
      using X = decltype(x_tag);
      if (p.weight_type == WeightType::BF16) launch<X, __nv_bfloat16>(p, stream);
      else launch<X, __nv_fp8_e4m3>(p, stream);
    });
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
