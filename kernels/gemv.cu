#include <string>

#include "kernels/common.cuh"
#include "kernels/gemv.cuh"

namespace hs::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kThreads = kWarpsPerBlock * kWarpSize;
constexpr int kVectorBytes = 16;
constexpr int kUnroll = 4;  // weight vectors in flight per lane

template <typename T, int N>
struct alignas(kVectorBytes) Vec {
  T v[N];
};

}  // namespace

// One warp per output feature n; lanes stride over the row in 16-byte weight vectors.
template <typename X, typename W>
static __global__ void __launch_bounds__(kThreads) gemv_kernel(GemvParams p) {
  constexpr int kElems = kVectorBytes / static_cast<int>(sizeof(W));
  using WVec = Vec<W, kElems>;
  using XVec = Vec<X, kElems>;
  const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  if (n >= p.out_features) return;
  const int lane = threadIdx.x % kWarpSize;
  const int rows = static_cast<int>(p.rows);
  const std::int64_t vectors = p.in / kElems;
  const WVec* wrow = reinterpret_cast<const WVec*>(static_cast<const W*>(p.weight) + n * p.in);
  const X* x = static_cast<const X*>(p.x);
  float acc[kGemvMaxRows] = {};
  for (std::int64_t base = lane; base < vectors; base += kWarpSize * kUnroll) {
    WVec w[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (base + u * kWarpSize < vectors) w[u] = wrow[base + u * kWarpSize];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t vi = base + u * kWarpSize;
      if (vi >= vectors) break;
#pragma unroll
      for (int m = 0; m < kGemvMaxRows; ++m) {
        if (m >= rows) break;
        const XVec xv = *reinterpret_cast<const XVec*>(x + m * p.in + vi * kElems);
#pragma unroll
        for (int e = 0; e < kElems; ++e) acc[m] += to_float(w[u].v[e]) * to_float(xv.v[e]);
      }
    }
  }
  const float scale = p.scales ? p.scales[n] : 1.0f;
  const float bias = p.bias ? p.bias[n] : 0.0f;
#pragma unroll
  for (int m = 0; m < kGemvMaxRows; ++m) {
    if (m >= rows) break;
    const float total = warp_sum(acc[m]);
    if (lane == 0) static_cast<X*>(p.out)[m * p.out_features + n] = from_float<X>(total * scale + bias);
  }
}

void gemv(const GemvParams& p, cudaStream_t stream) {
  if (p.rows < 0 || p.rows > kGemvMaxRows) throw CudaError("gemv: " + std::to_string(p.rows) + " rows (at most 4)");
  const std::int64_t weight_bytes = p.weight_type == WeightType::FP8 ? 1 : p.weight_type == WeightType::BF16 ? 2 : 4;
  if ((p.in * weight_bytes) % kVectorBytes != 0)
    throw CudaError("gemv: in_features " + std::to_string(p.in) + " is not a multiple of 16 bytes of weights");
  if (p.rows == 0 || p.out_features == 0) return;
  const unsigned blocks = blocks_for(p.out_features, kWarpsPerBlock);
  if (p.activation == ElementType::F32 && p.weight_type == WeightType::F32)
    gemv_kernel<float, float><<<blocks, kThreads, 0, stream>>>(p);
  else if (p.activation == ElementType::BF16 && p.weight_type == WeightType::BF16)
    gemv_kernel<__nv_bfloat16, __nv_bfloat16><<<blocks, kThreads, 0, stream>>>(p);
  else if (p.activation == ElementType::BF16 && p.weight_type == WeightType::FP8)
    gemv_kernel<__nv_bfloat16, __nv_fp8_e4m3><<<blocks, kThreads, 0, stream>>>(p);
  else
    throw CudaError("gemv: unsupported activation/weight type pair");
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
