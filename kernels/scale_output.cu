#include <algorithm>

#include "kernels/common.cuh"
#include "kernels/scale_output.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
constexpr unsigned kMaxGridRows = 65535;  // gridDim.y limit; rows past it loop

// A 2-D launch: x over column groups (one per thread), y over rows.
dim3 grid_for(std::int64_t rows, std::int64_t groups) {
  return {blocks_for(groups, kThreads), static_cast<unsigned>(std::min<std::int64_t>(rows, kMaxGridRows))};
}

// Whether every pointer is null or a multiple of `bytes`.
bool all_aligned(std::initializer_list<const void*> pointers, std::size_t bytes) {
  return std::all_of(pointers.begin(), pointers.end(), [&](const void* p) { return !p || aligned_to(p, bytes); });
}

}  // namespace

template <int N, typename T>
static __device__ __forceinline__ void store_n(T* p, std::int64_t j, const float* v) {
  if constexpr (N == 4) store_float4<true>(p, j, j + 4, v);
  else p[j] = from_float<T>(v[0]);
}

template <int N, typename S, typename O>
static __global__ void scale_output_kernel(const S* src, O* out, const float* __restrict__ row_scale,
                                           const float* __restrict__ col_scale, const float* __restrict__ bias,
                                           std::int64_t rows, std::int64_t cols, bool accumulate,
                                           const float* __restrict__ gate, std::int64_t gate_rows,
                                           std::int64_t first_row, std::int64_t src_stride) {
  await_previous_kernel();
  const std::int64_t c = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * N;
  if (c >= cols) return;
  float cs[N], b[N];
  if (col_scale) load_n<N>(col_scale, c, cs);
  if (bias) load_n<N>(bias, c, b);
  for (std::int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    float v[N], g[N], o[N];
    load_n<N>(src + r * src_stride, c, v);
    if (gate) load_n<N>(gate + (first_row + r) / gate_rows * cols, c, g);
    if (accumulate) load_n<N>(out + r * cols, c, o);
#pragma unroll
    for (int k = 0; k < N; ++k) {
      if (row_scale) v[k] *= row_scale[r];
      if (col_scale) v[k] *= cs[k];
      if (bias) v[k] += b[k];
      if (gate) v[k] *= g[k];
      if (accumulate) v[k] += o[k];
    }
    store_n<N>(out + r * cols, c, v);
  }
}

void scale_output(const ScaleOutputParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.cols == 0) return;
  const std::int64_t src_stride = p.src_stride ? p.src_stride : p.cols;
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      using S = decltype(src_tag);
      using O = decltype(out_tag);
      const bool vector = p.cols % 4 == 0 && src_stride % 4 == 0 && aligned_to(p.src, 4 * sizeof(S)) &&
                          aligned_to(p.out, 4 * sizeof(O)) && all_aligned({p.col_scale, p.bias, p.gate}, 16);
      const auto run = [&](auto kernel, std::int64_t n) {
        launch(kernel, grid_for(p.rows, p.cols / n), kThreads, stream, static_cast<const S*>(p.src),
               static_cast<O*>(p.out), p.row_scale, p.col_scale, p.bias, p.rows, p.cols, p.accumulate, p.gate,
               p.gate_rows, p.first_row, src_stride);
      };
      if (vector) run(scale_output_kernel<4, S, O>, 4);
      else run(scale_output_kernel<1, S, O>, 1);
    });
  });
}

// Rotates the pairs of a thread's N columns of a rotated part (col: the first one's column in its
// part; N = 1 computes its partner column c ^ 1 of src as well).
template <int N, typename S>
static __device__ __forceinline__ void rotate_columns(const SplitOutputParams& p, std::int64_t r, std::int64_t c,
                                                      std::int64_t col, float* v) {
  const std::int64_t position = p.rope.positions[(p.rope.first_row + r) % p.rope.seq];
  if constexpr (N == 1) {
    float partner;
    scaled<1>(static_cast<const S*>(p.src), p.cols, p.row_scale, p.col_scale, p.bias, r, c ^ 1, &partner);
    const float inv_freq = p.rope.inv_freq[col % p.rope.head_dim / 2];
    if (col % 2 == 0) rotate_pair(v[0], partner, position, inv_freq);
    else rotate_pair(partner, v[0], position, inv_freq);
  } else {
#pragma unroll
    for (int k = 0; k < N; k += 2) rotate_pair(v[k], v[k + 1], position, p.rope.inv_freq[(col + k) % p.rope.head_dim / 2]);
  }
}

// One thread per N output columns (gated: of the half; N divides every part's width), looping over
// rows. The parameters are read with constant indices only (a dynamic index into the kernel's
// parameter struct would copy it to local memory in every thread).
template <int N, typename S, typename O>
static __global__ void split_output_kernel(const SplitOutputParams p) {
  await_previous_kernel();
  static_assert(kSplitMaxParts == 3, "the part lookup below names three parts");
  const std::int64_t width = p.gated ? p.cols / 2 : p.cols;
  const std::int64_t c = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * N;
  if (c >= width) return;
  const S* src = static_cast<const S*>(p.src);
  const std::int64_t w0 = p.widths[0], w1 = p.widths[1];
  const bool second = !p.gated && c >= w0, third = second && c >= w0 + w1;
  const std::int64_t col = third ? c - w0 - w1 : second ? c - w0 : c;
  const std::int64_t out_width = third ? p.widths[2] : second ? w1 : w0;
  O* out = static_cast<O*>(third ? p.out[2] : second ? p.out[1] : p.out[0]);
  const bool rotated = (third ? 2 : second ? 1 : 0) < p.rope.parts;
  const float *row_scale = p.row_scale, *col_scale = p.col_scale, *bias = p.bias;
  const std::int64_t cols = p.cols;
  for (std::int64_t r = blockIdx.y; r < p.rows; r += gridDim.y) {
    float v[N];
    scaled<N>(src, cols, row_scale, col_scale, bias, r, c, v);
    if (p.gated) {
      float u[N];
      scaled<N>(src, cols, row_scale, col_scale, bias, r, c + width, u);
#pragma unroll
      for (int k = 0; k < N; ++k) v[k] = swiglu(v[k], u[k]);
    }
    if (rotated) rotate_columns<N, S>(p, r, c, col, v);
    store_n<N>(out + r * out_width, col, v);
  }
}

// The gated epilogue into fp8: one block per row, each thread holding up to kFp8Groups groups of
// 4 products in registers until the row's largest magnitude is known.
constexpr int kFp8Groups = 4;
constexpr int kFp8MaxThreads = 1024;
constexpr std::int64_t kFp8MaxWidth = 4 * kFp8Groups * kFp8MaxThreads;

template <typename S>
static __global__ void __launch_bounds__(kFp8MaxThreads) swiglu_fp8_kernel(const SplitOutputParams p) {
  await_previous_kernel();
  const std::int64_t width = p.cols / 2, r = blockIdx.x;
  const S* src = static_cast<const S*>(p.src);
  float v[kFp8Groups][4];
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < kFp8Groups; ++i) {
    const std::int64_t c = 4 * (threadIdx.x + static_cast<std::int64_t>(i) * blockDim.x);
    if (c >= width) break;
    float u[4];
    scaled<4>(src, p.cols, p.row_scale, p.col_scale, p.bias, r, c, v[i]);
    scaled<4>(src, p.cols, p.row_scale, p.col_scale, p.bias, r, c + width, u);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      v[i][k] = swiglu(v[i][k], u[k]);
      amax = fmaxf(amax, fabsf(v[i][k]));
    }
  }
  const float row_scale = e4m3_scale(block_max(amax));
  if (threadIdx.x == 0) p.out_scales[r] = row_scale;
  auto* out = reinterpret_cast<std::uint32_t*>(static_cast<std::uint8_t*>(p.out[0]) + r * width);
#pragma unroll
  for (int i = 0; i < kFp8Groups; ++i) {
    const std::int64_t g = threadIdx.x + static_cast<std::int64_t>(i) * blockDim.x;
    if (4 * g >= width) break;
    out[g] = pack_e4m3(v[i], row_scale);
  }
}

void split_output(const SplitOutputParams& p, cudaStream_t stream) {
  const std::int64_t width = p.gated ? p.cols / 2 : p.cols;
  if (p.rows == 0 || width == 0) return;
  if (p.out_scales) {
    if (!p.gated || width % 4 != 0 || width > kFp8MaxWidth || !aligned_to(p.out[0], 4) ||
        !all_aligned({p.col_scale, p.bias}, 16))
      throw CudaError("split_output: an fp8 output needs the gated epilogue, a width that is a multiple of 4 up to " +
                      std::to_string(kFp8MaxWidth) + " (got " + std::to_string(width) + ") and aligned vectors");
    const std::int64_t per_thread = (width / 4 + kFp8Groups - 1) / kFp8Groups;
    const auto threads = static_cast<unsigned>((per_thread + kWarpSize - 1) / kWarpSize * kWarpSize);
    dispatch_element(p.src_type, [&](auto src_tag) {
      using S = decltype(src_tag);
      if (!aligned_to(p.src, 4 * sizeof(S))) throw CudaError("split_output: src is not aligned to 4 values");
      launch(swiglu_fp8_kernel<S>, static_cast<unsigned>(p.rows), threads, stream, p);
    });
    return;
  }
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      using S = decltype(src_tag);
      using O = decltype(out_tag);
      bool vector = p.cols % 4 == 0 && width % 4 == 0 && aligned_to(p.src, 4 * sizeof(S)) &&
                    all_aligned({p.col_scale, p.bias}, 16);
      for (int i = 0; i < kSplitMaxParts; ++i)
        vector = vector && p.widths[i] % 4 == 0 && all_aligned({p.out[i]}, 4 * sizeof(O));
      if (vector) launch(split_output_kernel<4, S, O>, grid_for(p.rows, width / 4), kThreads, stream, p);
      else launch(split_output_kernel<1, S, O>, grid_for(p.rows, width), kThreads, stream, p);
    });
  });
}

}  // namespace hs::kernels
