#include "kernels/common.cuh"
#include "kernels/quantize_fp8.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename T>
static __global__ void quantize_fp8_kernel(const T* __restrict__ x, __nv_fp8_e4m3* q, float* scales, std::int64_t cols) {
  __shared__ float amax_shared[kWarpSize];
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * cols;
  float amax = 0.0f;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) amax = fmaxf(amax, fabsf(to_float(xr[c])));
  amax = warp_max(amax);
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  if (lane == 0) amax_shared[warp] = amax;
  __syncthreads();
  amax = lane < static_cast<int>(blockDim.x / kWarpSize) ? amax_shared[lane] : 0.0f;
  amax = warp_max(amax);
  const float scale = amax > 0.0f ? amax / kE4m3Max : 1.0f;
  if (threadIdx.x == 0) scales[blockIdx.x] = scale;
  __nv_fp8_e4m3* qr = q + static_cast<std::int64_t>(blockIdx.x) * cols;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) qr[c] = __nv_fp8_e4m3(to_float(xr[c]) / scale);
}

void quantize_fp8(const QuantizeFp8Params& p, cudaStream_t stream) {
  if (p.rows == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    quantize_fp8_kernel<T><<<static_cast<unsigned>(p.rows), kThreads, 0, stream>>>(
        static_cast<const T*>(p.x), static_cast<__nv_fp8_e4m3*>(p.q), p.scales, p.cols);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
