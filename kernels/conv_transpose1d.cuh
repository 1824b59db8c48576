// The codec's transposed 1-D convolution (Backend::conv_transpose1d): out [B, Cout, L] = columns
// skip .. skip + L of the full output (length (T − 1)·stride + K) of x [B, Cin, T] with weight
// [Cin, Cout, K], + bias; channel-major, fp32 in and out. Polyphase: the outputs j = q·stride + p
// of each phase p form one implicit GEMM over taps p, p + stride, ... of x[q], x[q − 1], ...
// (conv_gemm.cuh); weight F32 on CUDA cores, BF16 on tensor cores.
#pragma once

#include <cuda_runtime.h>

#include "kernels/element_type.h"

namespace hs::kernels {

struct ConvTranspose1dParams {
  const float* x;          // [batch, cin, len]
  const void* weight;      // [cin, cout, kernel]
  WeightType weight_type;  // F32 or BF16
  const float* bias;       // [cout] or null
  float* out;              // [batch, cout, out_len]; must not alias x
  int batch, cin, len, cout, kernel, stride;
  int skip, out_len;  // skip + out_len ≤ (len − 1)·stride + kernel
};

void conv_transpose1d(const ConvTranspose1dParams& p, cudaStream_t stream);

}  // namespace hs::kernels
