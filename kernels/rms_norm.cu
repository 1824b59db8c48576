#include "kernels/common.cuh"
#include "kernels/rms_norm.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename T, typename O>
static __global__ void rms_norm_kernel(const T* __restrict__ x, const T* __restrict__ scale, O* out, int dim,
                                       float eps) {
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * dim;
  O* yr = out + static_cast<std::int64_t>(blockIdx.x) * dim;
  float sum_sq = 0.0f;
  for (int d = threadIdx.x; d < dim; d += blockDim.x) {
    const float v = to_float(xr[d]);
    sum_sq += v * v;
  }
  const float inv = rsqrtf(block_sum(sum_sq) / static_cast<float>(dim) + eps);
  for (int d = threadIdx.x; d < dim; d += blockDim.x) yr[d] = from_float<O>(to_float(xr[d]) * inv * to_float(scale[d]));
}

void rms_norm(const RmsNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      using T = decltype(tag);
      using O = decltype(out_tag);
      rms_norm_kernel<T, O><<<static_cast<unsigned>(p.rows), kThreads, 0, stream>>>(
          static_cast<const T*>(p.x), static_cast<const T*>(p.scale), static_cast<O*>(p.out), static_cast<int>(p.dim),
          p.eps);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
