// Layout copies of float or bf16 tensors (values moved bit for bit): blocks of columns, the swap
// of the last two dimensions, nearest-neighbour upsampling of the last dimension.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

// dst[r·dst_stride + dst_offset + j] = src[r·src_stride + src_offset + j] for r < rows, j < n
// (strides and offsets in elements).
struct CopyColumnsParams {
  const void* src;
  void* dst;
  std::int64_t rows, n;
  std::int64_t src_stride, src_offset;
  std::int64_t dst_stride, dst_offset;
  ElementType type;
};
void copy_columns(const CopyColumnsParams& p, cudaStream_t stream);

// out [outer, cols, rows] = x [outer, rows, cols] with the last two dimensions swapped (out must
// not alias x).
struct TransposeParams {
  const void* x;
  void* out;
  std::int64_t outer, rows, cols;
  ElementType type;
};
void transpose(const TransposeParams& p, cudaStream_t stream);

// out[i·factor + k] = x[i] for i < n, k < factor.
struct RepeatLastParams {
  const void* x;
  void* out;
  std::int64_t n, factor;
  ElementType type;
};
void repeat_last(const RepeatLastParams& p, cudaStream_t stream);

}  // namespace hs::kernels
