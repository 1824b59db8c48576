// The codec's elementwise ops (backend.h "codec"): activations, AdaLN modulation, residual and
// blend arithmetic. Float or bf16 tensors, fp32 math; out may alias any input of out's shape.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

// out = x ≥ 0 ? x : alpha[c]·x for x [rows = B·C, len], c = row % channels (channels 1: one
// shared slope). alpha is fp32.
struct PreluParams {
  const void* x;
  const float* alpha;
  void* out;
  std::int64_t rows, len, channels;
  ElementType type;
};
void prelu(const PreluParams& p, cudaStream_t stream);

// out = x · sigmoid(x) over n values.
struct SiluParams {
  const void* x;
  void* out;
  std::int64_t n;
  ElementType type;
};
void silu(const SiluParams& p, cudaStream_t stream);

// out = alpha · a + beta · b over n values.
struct AxpbyParams {
  float alpha;
  const void* a;
  float beta;
  const void* b;
  void* out;
  std::int64_t n;
  ElementType type;
};
void axpby(const AxpbyParams& p, cudaStream_t stream);

// out = rint(x · levels) / levels over n values (halves to even, as torch.round).
struct RoundToGridParams {
  const void* x;
  void* out;
  std::int64_t n;
  float levels;
  ElementType type;
};
void round_to_grid(const RoundToGridParams& p, cudaStream_t stream);

// out[r, j] = a[r, j]·(1 − w_j) + b[r, j]·w_j, w_j = j / (len − 1) (0 for len 1), in double as
// the CPU reference, for a, b [rows, len].
struct CrossfadeParams {
  const void* a;
  const void* b;
  void* out;
  std::int64_t rows, len;
  ElementType type;
};
void crossfade(const CrossfadeParams& p, cudaStream_t stream);

// out[r, :] = x[r, :] + row for x [rows, width], row [width].
struct AddRowParams {
  const void* x;
  const void* row;
  void* out;
  std::int64_t rows, width;
  ElementType type;
};
void add_row(const AddRowParams& p, cudaStream_t stream);

// out[b,t,:] = x[b,t,:] · (1 + scale[b,:]) + shift[b,:] for x [batch, len, dim], shift, scale [batch, dim].
struct ModulateParams {
  const void* x;
  const void* shift;
  const void* scale;
  void* out;
  std::int64_t batch, len, dim;
  ElementType type;
};
void modulate(const ModulateParams& p, cudaStream_t stream);

// out[b,t,:] = x[b,t,:] + gate[b,:] · y[b,t,:] for x, y [batch, len, dim], gate [batch, dim].
struct GatedAddParams {
  const void* x;
  const void* y;
  const void* gate;
  void* out;
  std::int64_t batch, len, dim;
  ElementType type;
};
void gated_add(const GatedAddParams& p, cudaStream_t stream);

// out[l, g, b, :] = adaln[b, g·dim : (g+1)·dim] + tables[l, g·dim : (g+1)·dim] for adaln
// [batch, groups·dim], tables [layers, groups·dim], out [layers, groups, batch, dim]: every block's
// AdaLN modulation vectors of a DiT stack at once, each a contiguous [batch, dim].
struct ModulationVectorsParams {
  const void* adaln;
  const void* tables;
  void* out;
  std::int64_t layers, groups, batch, dim;
  ElementType type;
};
void modulation_vectors(const ModulationVectorsParams& p, cudaStream_t stream);

// out[b,t,:] = bias + Σ_j taps[b, t + j − (kernel−1)/2, j·channels : (j+1)·channels] over the taps
// inside [0, frames), for taps [batch, frames, kernel·channels], bias [channels] (fp32) or null,
// out [batch, frames, channels]: a 'same' conv from its per-tap products.
struct SumTapsParams {
  const void* taps;
  const float* bias;
  void* out;
  std::int64_t batch, frames, channels, kernel;
  ElementType type;
};
void sum_taps(const SumTapsParams& p, cudaStream_t stream);

}  // namespace hs::kernels
