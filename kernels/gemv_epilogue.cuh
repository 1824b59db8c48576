// The GEMV kernels' output stage, shared by the SIMT (gemv.cu) and tensor-core (gemv_mma.cu)
// paths. GemvParams' arrays are indexed with constants only: a runtime index would make every
// thread copy the parameters to local memory before its first weight load.
#pragma once

#include "kernels/common.cuh"
#include "kernels/gemv.cuh"

namespace hs::kernels {

// Feature n of x row m, already scaled: + bias, into the stacked output holding column n, added
// to what is there when accumulating.
template <typename O>
__device__ __forceinline__ void store_feature(const GemvParams& p, int m, std::int64_t n, float value) {
  float v = value + (p.bias ? p.bias[n] : 0.0f);
  void* out = p.out[0];
  std::int64_t width = p.widths[0], column = n;
#pragma unroll
  for (int i = 1; i < kGemvMaxOutputs; ++i)
    if (column >= width) {
      column -= width;
      out = p.out[i];
      width = p.widths[i];
    }
  O* y = static_cast<O*>(out) + m * width + column;
  if (p.accumulate) v += to_float(*y);
  *y = from_float<O>(v);
}

// Gated (SwiGLU) feature n of row m from its scaled gate and up sums.
template <typename O>
__device__ __forceinline__ void store_gated(const GemvParams& p, int m, std::int64_t n, float gate, float up) {
  static_cast<O*>(p.out[0])[m * p.widths[0] + n] = from_float<O>(swiglu(gate, up));
}

}  // namespace hs::kernels
