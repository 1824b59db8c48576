// The codec's 1-D convolution (Backend::conv1d, optionally with its PReLU fused): out [B, Cout,
// Tout] = conv1d(x [B, Cin, T], weight [Cout, Cin, K]) + bias, channel-major, fp32 in and out.
// Weight F32: fp32 FMA on CUDA cores (the fp32 parity path); BF16: an implicit GEMM on bf16
// tensor cores (x rounded to bf16 as it is staged, fp32 accumulation). See conv_gemm.cuh.
#pragma once

#include <cuda_runtime.h>

#include "kernels/element_type.h"

namespace hs::kernels {

struct Conv1dParams {
  const float* x;          // [batch, cin, len]
  const void* weight;      // [cout, cin, kernel]
  WeightType weight_type;  // F32 or BF16
  const float* bias;       // [cout] or null
  const float* alpha;      // PReLU slopes applied after the bias, or null for none ...
  bool alpha_per_channel;  // ... [cout] when true, else [1]
  float* out;              // [batch, cout, out_len]; must not alias x
  int batch, cin, len, cout, kernel;
  int stride, dilation, pad_left;  // zeros past the input's end are implied by out_len
  int out_len;
};

void conv1d(const Conv1dParams& p, cudaStream_t stream);

}  // namespace hs::kernels
