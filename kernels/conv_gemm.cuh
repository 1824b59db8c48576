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
// bf16 conv1d of stride 1 with up to 7 taps (the decoder's k7 and input k5) runs tap-major
// instead: one staged x tile serves every tap, where the im2col kernel gathers x per (channel, tap)
// row, about as many instructions as its mmas. H100, 2026-12-05, bench_codec_conv (1 s of audio,
// benchmarks/results/conv_taps_h100.json): the k7 convs 1.1–2.3× faster than im2col, 29 TFLOP/s
// at block 1 (T = 125: too few blocks for 132 SMs), 55 at block 2, 95–110 at blocks 3–4, 91 at the
// post conv; the transposed convs (im2col, polyphase) 8–41, fp32 5–26.
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
