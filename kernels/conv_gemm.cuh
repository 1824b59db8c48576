// The implicit GEMM behind conv1d and conv_transpose1d (internal to conv1d.cu and
// conv_transpose1d.cu). Outputs are split into `phases` P interleaved sets: output column
// j = q·P + p − skip belongs to phase p, where it is
//   out[b, m, j] = bias[m] + Σ_{c, t : p + t·P < K} W(m, c, p + t·P) · x[b, c, q·in_stride + t·in_dilation + in_offset]
// (x zero outside [0, in_len)). So each phase is a GEMM with M = cout, N = its columns q and
// K = cin · ⌈K / P⌉ rows (c, t). conv1d is P = 1; a transposed conv of stride s is P = s with
// in_stride 1, in_dilation −1 (polyphase: tap p + t·s of x[q − t]).
//
// Weight F32: fp32 FMA on CUDA cores, each output summed in row order (the fp32 parity path).
// Weight BF16: mma.sync m16n8k16 bf16 tensor cores, x rounded to bf16 as it is staged in shared
// memory, fp32 accumulation. Both add the bias and apply PReLU in the epilogue; out is fp32.
//
// H200, 2026-12-03, bench_codec_conv (1 s of audio): bf16 16 TFLOP/s at block 1's k7 (T = 125:
// too few blocks for 132 SMs) and 62–72 at blocks 3–5 and the post conv; fp32 5–26. The
// per-element im2col gather of x costs about as many instructions as the mmas; weights stored
// tap-major ([Cout, K, Cin]) would let one staged x tile serve all K taps (the next step).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct ConvGemmParams {
  const float* x;          // [batch, cin, in_len]
  const void* weight;      // W(m, c, k) at m·weight_stride_out + c·weight_stride_in + k
  WeightType weight_type;  // F32 or BF16
  const float* bias;       // [cout] or null
  const float* alpha;      // PReLU slopes, or null for none ...
  bool alpha_per_channel;  // ... [cout] when true, else [1]
  float* out;              // [batch, cout, out_len]; must not alias x
  int batch, cin, in_len, cout, out_len;
  int kernel;  // K: taps per (output, input) channel pair
  int phases;  // P
  int skip;    // output column 0 is phase position skip (q·P + p = skip)
  std::int64_t weight_stride_out, weight_stride_in;
  int in_stride, in_dilation, in_offset;
};

void conv_gemm(const ConvGemmParams& p, cudaStream_t stream);

}  // namespace hs::kernels
