#include <algorithm>

#include "kernels/common.cuh"
#include "kernels/scale_output.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

constexpr unsigned kMaxGridRows = 65535;  // gridDim.y limit; rows past it loop

// A 2-D launch: x over columns (one per thread), y over rows.
dim3 grid_for(std::int64_t rows, std::int64_t cols) {
  return {static_cast<unsigned>(blocks_for(cols, kThreads)),
          static_cast<unsigned>(std::min<std::int64_t>(rows, kMaxGridRows))};
}

template <typename S, typename O>
static __global__ void scale_output_kernel(const S* src, O* out, const float* __restrict__ row_scale,
                                           const float* __restrict__ col_scale, const float* __restrict__ bias,
                                           std::int64_t rows, std::int64_t cols, bool accumulate,
                                           const float* __restrict__ gate, std::int64_t gate_rows,
                                           std::int64_t first_row, std::int64_t src_stride) {
  await_previous_kernel();
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const float cs = col_scale ? col_scale[c] : 1.0f, b = bias ? bias[c] : 0.0f;
  for (std::int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const std::int64_t i = r * cols + c;
    float v = to_float(src[r * src_stride + c]);
    if (row_scale) v *= row_scale[r];
    if (col_scale) v *= cs;
    if (bias) v += b;
    if (gate) v *= gate[(first_row + r) / gate_rows * cols + c];
    if (accumulate) v += to_float(out[i]);
    out[i] = from_float<O>(v);
  }
}

void scale_output(const ScaleOutputParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.cols == 0) return;
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      using S = decltype(src_tag);
      using O = decltype(out_tag);
      launch(scale_output_kernel<S, O>, grid_for(p.rows, p.cols), kThreads, stream, static_cast<const S*>(p.src),
             static_cast<O*>(p.out), p.row_scale, p.col_scale, p.bias, p.rows, p.cols, p.accumulate, p.gate,
             p.gate_rows, p.first_row, p.src_stride ? p.src_stride : p.cols);
    });
  });
}

// The scaled value of src[r, c]: the GEMM result times its row and column scales, plus the bias.
template <typename S>
static __device__ __forceinline__ float scaled(const S* src, std::int64_t cols, const float* row_scale,
                                               const float* col_scale, const float* bias, std::int64_t r,
                                               std::int64_t c) {
  float v = to_float(src[r * cols + c]);
  if (row_scale) v *= row_scale[r];
  if (col_scale) v *= col_scale[c];
  if (bias) v += bias[c];
  return v;
}

// One thread per output column (gated: of the half), looping over rows. The parameters are read
// with constant indices only (a dynamic index into the kernel's parameter struct would copy it to
// local memory in every thread).
template <typename S, typename O>
static __global__ void split_output_kernel(const SplitOutputParams p) {
  await_previous_kernel();
  static_assert(kSplitMaxParts == 3, "the part lookup below names three parts");
  const std::int64_t width = p.gated ? p.cols / 2 : p.cols;
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= width) return;
  const S* src = static_cast<const S*>(p.src);
  const std::int64_t w0 = p.widths[0], w1 = p.widths[1];
  const bool second = !p.gated && c >= w0, third = second && c >= w0 + w1;
  const std::int64_t col = third ? c - w0 - w1 : second ? c - w0 : c;
  const std::int64_t out_width = third ? p.widths[2] : second ? w1 : w0;
  O* out = static_cast<O*>(third ? p.out[2] : second ? p.out[1] : p.out[0]);
  const float *row_scale = p.row_scale, *col_scale = p.col_scale, *bias = p.bias;
  const std::int64_t cols = p.cols;
  for (std::int64_t r = blockIdx.y; r < p.rows; r += gridDim.y) {
    float v = scaled(src, cols, row_scale, col_scale, bias, r, c);
    if (p.gated) v = v / (1.0f + expf(-v)) * scaled(src, cols, row_scale, col_scale, bias, r, c + width);
    out[r * out_width + col] = from_float<O>(v);
  }
}

void split_output(const SplitOutputParams& p, cudaStream_t stream) {
  const std::int64_t width = p.gated ? p.cols / 2 : p.cols;
  if (p.rows == 0 || width == 0) return;
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      launch(split_output_kernel<decltype(src_tag), decltype(out_tag)>, grid_for(p.rows, width), kThreads, stream, p);
    });
  });
}

}  // namespace hs::kernels
