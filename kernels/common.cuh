// Helpers shared by every kernel: element types and their conversions, warp/block reductions,
// error checks that throw (STYLE.md 5) and the Philox counter-based RNG.
//
// Philox is a copy of engine/core/rng.h's algorithm (kernels may not include engine headers,
// DESIGN.md "Layers"); tests/gpu/sample_test.cpp checks that the CPU and GPU draws agree.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda_check.h"
#include "kernels/element_type.h"
#include "kernels/launch.cuh"

namespace hs::kernels {

inline constexpr int kWarpSize = 32;
inline constexpr unsigned kFullMask = 0xffffffffu;

// The scale of an fp8 E4M3 vector whose largest magnitude is amax: amax / 448 (1 for an all-zero
// vector), engine/core/fp8_quantize.h's rule; the vector is stored as e4m3(x / scale).
__device__ __forceinline__ float e4m3_scale(float amax) { return amax > 0.0f ? amax / 448.0f : 1.0f; }

// SwiGLU's product silu(gate) · up, the one expression every kernel that makes it uses.
__device__ __forceinline__ float swiglu(float gate, float up) { return gate / (1.0f + expf(-gate)) * up; }

// e4m3(v[k] / scale) for k < 4, packed low byte first (v[0] first in memory).
__device__ __forceinline__ std::uint32_t pack_e4m3(const float* v, float scale) {
  std::uint32_t packed = 0;
#pragma unroll
  for (int k = 0; k < 4; ++k) packed |= static_cast<std::uint32_t>(__nv_fp8_e4m3(v[k] / scale).__x) << (8 * k);
  return packed;
}

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__nv_fp8_e4m3 v) { return static_cast<float>(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// One 16-byte vector of streamed data (weights read once per step): bypasses L1.
__device__ __forceinline__ uint4 load_streaming(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// The 16 / sizeof(W) values of a 16-byte vector of W (float, bf16 or fp8 E4M3) as floats.
template <typename W>
__device__ __forceinline__ void unpack_vector(const uint4& v, float* out) {
  const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (sizeof(W) == 4) {
      out[i] = __uint_as_float(words[i]);
    } else if constexpr (sizeof(W) == 2) {
      out[2 * i] = __uint_as_float(words[i] << 16);
      out[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const __half2_raw pair =
            __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(words[i] >> (16 * h)), __NV_E4M3);
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&pair));
        out[4 * i + 2 * h] = f.x;
        out[4 * i + 2 * h + 1] = f.y;
      }
    }
  }
}

// N consecutive values of X (float or bf16; N·sizeof(X) a multiple of 16 bytes, 16-byte aligned)
// as floats, through L1 (activations are re-read by every warp).
template <typename X, int N>
__device__ __forceinline__ void load_floats(const X* p, float* out) {
  constexpr int kPerVector = 16 / static_cast<int>(sizeof(X));
  const uint4* v = reinterpret_cast<const uint4*>(p);
#pragma unroll
  for (int i = 0; i < N / kPerVector; ++i) unpack_vector<X>(__ldg(v + i), out + i * kPerVector);
}

// Values p[j .. j+4) as floats: one vector load when Vector (p + j aligned to 4·sizeof(T) and
// j + 4 ≤ n), else scalar loads, zero from n on. T is float or bf16.
template <bool Vector, typename T>
__device__ __forceinline__ void load_float4(const T* p, std::int64_t j, std::int64_t n, float* v) {
  if constexpr (Vector) {
    if constexpr (sizeof(T) == 4) {
      const float4 f = *reinterpret_cast<const float4*>(p + j);
      v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
    } else {
      const uint2 w = *reinterpret_cast<const uint2*>(p + j);
      v[0] = __uint_as_float(w.x << 16), v[1] = __uint_as_float(w.x & 0xffff0000u);
      v[2] = __uint_as_float(w.y << 16), v[3] = __uint_as_float(w.y & 0xffff0000u);
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = j + k < n ? to_float(p[j + k]) : 0.0f;
  }
}

// Stores v[0..4) to p[j .. j+4) (only those below n unless Vector), as load_float4 reads them.
template <bool Vector, typename T>
__device__ __forceinline__ void store_float4(T* p, std::int64_t j, std::int64_t n, const float* v) {
  if constexpr (Vector) {
    if constexpr (sizeof(T) == 4) {
      *reinterpret_cast<float4*>(p + j) = {v[0], v[1], v[2], v[3]};
    } else {
      const __nv_bfloat162 lo = __floats2bfloat162_rn(v[0], v[1]), hi = __floats2bfloat162_rn(v[2], v[3]);
      *reinterpret_cast<uint2*>(p + j) = {*reinterpret_cast<const std::uint32_t*>(&lo),
                                          *reinterpret_cast<const std::uint32_t*>(&hi)};
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (j + k < n) p[j + k] = from_float<T>(v[k]);
  }
}

// Interleaved rotary embedding of one pair (x0, x1) by the angle position · inv_freq; the angle,
// its cosine and sine in double, as the CPU reference computes them (rope, rope_store and the
// split GEMM epilogue share it, so a fused rotation equals a separate one).
__device__ __forceinline__ void rotate_pair(float& x0, float& x1, std::int64_t position, float inv_freq) {
  double sin_a, cos_a;
  sincos(static_cast<double>(position) * static_cast<double>(inv_freq), &sin_a, &cos_a);
  const float c = static_cast<float>(cos_a), sn = static_cast<float>(sin_a);
  const float r0 = x0 * c - x1 * sn, r1 = x1 * c + x0 * sn;
  x0 = r0;
  x1 = r1;
}

// A thread's N consecutive values (1, or 4 through one vector load: the GEMM epilogues, whose
// widths are multiples of 4) as floats.
template <int N, typename T>
__device__ __forceinline__ void load_n(const T* p, std::int64_t j, float* v) {
  if constexpr (N == 4) load_float4<true>(p, j, j + 4, v);
  else v[0] = to_float(p[j]);
}

// The scaled values of src[r, c .. c+N): a GEMM result times its row and column scales, plus the
// bias (each may be null), in the order every epilogue applies them.
template <int N, typename S>
__device__ __forceinline__ void scaled(const S* src, std::int64_t cols, const float* row_scale,
                                       const float* col_scale, const float* bias, std::int64_t r, std::int64_t c,
                                       float* v) {
  float cs[N], b[N];
  load_n<N>(src + r * cols, c, v);
  if (col_scale) load_n<N>(col_scale, c, cs);
  if (bias) load_n<N>(bias, c, b);
#pragma unroll
  for (int k = 0; k < N; ++k) {
    if (row_scale) v[k] *= row_scale[r];
    if (col_scale) v[k] *= cs[k];
    if (bias) v[k] += b[k];
  }
}

// Whether a device address is a multiple of `bytes` (picks a kernel's vector width on the host).
inline bool aligned_to(const void* p, std::size_t bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// The sum, or the maximum of non-negative values, over the whole block (blockDim.x a multiple of
// 32, at most 1024); every thread gets it.
template <bool Max>
__device__ __forceinline__ float block_reduce(float v) {
  __shared__ float partial[kWarpSize];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  v = Max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / kWarpSize;
  v = lane < warps ? partial[lane] : 0.0f;
  return Max ? warp_max(v) : warp_sum(v);
}
__device__ __forceinline__ float block_sum(float v) { return block_reduce<false>(v); }
__device__ __forceinline__ float block_max(float v) { return block_reduce<true>(v); }

// ---- Philox4x32-10 (engine/core/rng.h) ---------------------------------------------------------
inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;
inline constexpr int kPhiloxRounds = 10;

// Word `index` of the stream (seed, counter), exactly as hs::philox_word.
__device__ __forceinline__ std::uint32_t philox_word(std::uint64_t seed, std::uint64_t counter, std::uint64_t index) {
  const std::uint64_t block = index / 4;
  std::uint32_t c0 = static_cast<std::uint32_t>(block), c1 = static_cast<std::uint32_t>(block >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(counter), c3 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
#pragma unroll
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const std::uint64_t p0 = std::uint64_t{kPhiloxM0} * c0;
    const std::uint64_t p1 = std::uint64_t{kPhiloxM1} * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  switch (index % 4) {
    case 0: return c0;
    case 1: return c1;
    case 2: return c2;
    default: return c3;
  }
}

// An Exp(1) variate, as hs::exponential_variate: −log of a uniform in (0, 1) from 23 bits. The
// log is taken in double and rounded once, matching the host's correctly rounded logf.
__device__ __forceinline__ float exponential_variate(std::uint64_t seed, std::uint64_t counter, std::uint64_t index) {
  constexpr float kTwoPowMinus23 = 1.0f / 8388608.0f;
  const float u = (static_cast<float>(philox_word(seed, counter, index) >> 9) + 0.5f) * kTwoPowMinus23;
  return -static_cast<float>(log(static_cast<double>(u)));
}

// Calls f(T{}) with T the C++ type of `type` (the one place element types are switched).
template <typename F>
void dispatch_element(ElementType type, F&& f) {
  if (type == ElementType::F32) f(float{});
  else f(__nv_bfloat16{});
}

inline unsigned blocks_for(std::int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace hs::kernels
