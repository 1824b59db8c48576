#include "kernels/common.cuh"
#include "kernels/scale_output.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename T>
static __global__ void scale_output_kernel(T* out, const float* __restrict__ row_scale,
                                           const float* __restrict__ col_scale, const float* __restrict__ bias,
                                           std::int64_t n, std::int64_t cols) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::int64_t r = i / cols, c = i % cols;
  float v = to_float(out[i]);
  if (row_scale) v *= row_scale[r];
  if (col_scale) v *= col_scale[c];
  if (bias) v += bias[c];
  out[i] = from_float<T>(v);
}

void scale_output(const ScaleOutputParams& p, cudaStream_t stream) {
  const std::int64_t n = p.rows * p.cols;
  if (n == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    scale_output_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(p.out), p.row_scale,
                                                                              p.col_scale, p.bias, n, p.cols);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
