#include "kernels/common.cuh"
#include "kernels/scale_output.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename S, typename O>
static __global__ void scale_output_kernel(const S* src, O* out, const float* __restrict__ row_scale,
                                           const float* __restrict__ col_scale, const float* __restrict__ bias,
                                           std::int64_t n, std::int64_t cols, bool accumulate,
                                           const float* __restrict__ gate, std::int64_t gate_rows,
                                           std::int64_t first_row) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::int64_t r = i / cols, c = i % cols;
  float v = to_float(src[i]);
  if (row_scale) v *= row_scale[r];
  if (col_scale) v *= col_scale[c];
  if (bias) v += bias[c];
  if (gate) v *= gate[(first_row + r) / gate_rows * cols + c];
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
          p.accumulate, p.gate, p.gate_rows, p.first_row);
    });
  });
  CUDA_CHECK_LAUNCH();
}

template <typename S>
static __device__ __forceinline__ float scaled(const S* src, const SplitOutputParams& p, std::int64_t r,
                                               std::int64_t c) {
  float v = to_float(src[r * p.cols + c]);
  if (p.row_scale) v *= p.row_scale[r];
  if (p.col_scale) v *= p.col_scale[c];
  if (p.bias) v += p.bias[c];
  return v;
}

// One thread per output value: n = rows · (cols / 2) gated, else rows · cols.
template <typename S, typename O>
static __global__ void split_output_kernel(const SplitOutputParams p, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const S* src = static_cast<const S*>(p.src);
  if (p.gated) {
    const std::int64_t half = p.cols / 2, r = i / half, c = i % half;
    const float g = scaled(src, p, r, c);
    static_cast<O*>(p.out[0])[i] = from_float<O>(g / (1.0f + expf(-g)) * scaled(src, p, r, c + half));
    return;
  }
  const std::int64_t r = i / p.cols;
  std::int64_t c = i % p.cols, part = 0;
  while (c >= p.widths[part]) c -= p.widths[part++];
  static_cast<O*>(p.out[part])[r * p.widths[part] + c] = from_float<O>(scaled(src, p, r, i % p.cols));
}

void split_output(const SplitOutputParams& p, cudaStream_t stream) {
  const std::int64_t n = p.rows * (p.gated ? p.cols / 2 : p.cols);
  if (n == 0) return;
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      split_output_kernel<decltype(src_tag), decltype(out_tag)><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(p, n);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
