#include "kernels/common.cuh"
#include "kernels/scale_output.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename S, typename O>
static __global__ void scale_output_kernel(const S* src, O* out, const float* __restrict__ row_scale,
                                           const float* __restrict__ col_scale, const float* __restrict__ bias,
                                           std::int64_t n, std::int64_t cols, bool accumulate) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::int64_t r = i / cols, c = i % cols;
  float v = to_float(src[i]);
  if (row_scale) v *= row_scale[r];
  if (col_scale) v *= col_scale[c];
  if (bias) v += bias[c];
  if (accumulate) v += to_float(out[i]);
  out[i] = from_float<O>(v);
}

void scale_output(const ScaleOutputParams& p, cudaStream_t stream) {
  const std::int64_t n = p.rows * p.cols;
  if (n == 0) return;
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      using S = decltype(src_tag);
      using O = decltype(out_tag);
      scale_output_kernel<S, O><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(
          static_cast<const S*>(p.src), static_cast<O*>(p.out), p.row_scale, p.col_scale, p.bias, n, p.cols,
          p.accumulate);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
