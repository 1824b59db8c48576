#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/rms_norm.cuh"

namespace hs::kernels {
namespace {

constexpr int kGroupsPerThread = 4;  // groups of 4 values a thread holds in registers
constexpr int kMaxThreads = 1024;
constexpr std::int64_t kMaxDim = 4 * kGroupsPerThread * kMaxThreads;

__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const __nv_bfloat16* p) {
  const uint2 v = *reinterpret_cast<const uint2*>(p);
  return {__uint_as_float(v.x << 16), __uint_as_float(v.x & 0xffff0000u), __uint_as_float(v.y << 16),
          __uint_as_float(v.y & 0xffff0000u)};
}
__device__ __forceinline__ void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void store4(__nv_bfloat16* p, float4 v) {
  const __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
  *reinterpret_cast<uint2*>(p) = {*reinterpret_cast<const std::uint32_t*>(&lo),
                                  *reinterpret_cast<const std::uint32_t*>(&hi)};
}

// x[4g .. 4g+4) of row r updated as ResidualUpdate says (scale_output's gated accumulate).
__device__ __forceinline__ float4 updated(float4 x, const ResidualUpdate& u, std::int64_t r, std::int64_t vector_row,
                                          int dim, int g) {
  float v[4];
  scaled<4>(static_cast<const __nv_bfloat16*>(u.src), dim, u.row_scale, u.col_scale, u.bias, r, 4 * g, v);
  const float4 gate = load4(u.gate + vector_row + 4 * g);
  return {x.x + v[0] * gate.x, x.y + v[1] * gate.y, x.z + v[2] * gate.z, x.w + v[3] * gate.w};
}

}  // namespace

// One block per row. A row is read once: every thread issues its (≤ 4) loads of 4 values up front
// and keeps them in registers for the scaled write (the kernel is latency-bound at decode). An fp8
// out (O = __nv_fp8_e4m3) keeps the results there for the row's maximum, then stores them quantized.
template <typename T, typename O, bool Update>
static __global__ void __launch_bounds__(kMaxThreads) rms_norm_kernel(T* x, const T* __restrict__ scale, O* out,
                                                                     int dim, float eps,
                                                                     const float* __restrict__ shift,
                                                                     const float* __restrict__ mod_scale,
                                                                     std::int64_t batch_rows, float* out_scales,
                                                                     const ResidualUpdate update) {
  constexpr bool kFp8 = std::is_same_v<O, __nv_fp8_e4m3>;
  await_previous_kernel();
  T* xr = x + static_cast<std::int64_t>(blockIdx.x) * dim;
  O* yr = out + static_cast<std::int64_t>(blockIdx.x) * dim;
  const std::int64_t vector_row = blockIdx.x / batch_rows * dim;
  const int groups = dim / 4;
  float4 v[kGroupsPerThread];
  float sum_sq = 0.0f;
#pragma unroll
  for (int i = 0; i < kGroupsPerThread; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    v[i] = g < groups ? load4(xr + 4 * g) : float4{};
    if constexpr (Update) {
      if (g < groups) {
        v[i] = updated(v[i], update, blockIdx.x, vector_row, dim, g);
        store4(xr + 4 * g, v[i]);
      }
    }
    sum_sq += v[i].x * v[i].x + v[i].y * v[i].y + v[i].z * v[i].z + v[i].w * v[i].w;
  }
  const float inv = rsqrtf(block_sum(sum_sq) / static_cast<float>(dim) + eps);
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < kGroupsPerThread; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g >= groups) break;
    const float4 s = load4(scale + 4 * g);
    float4 y{v[i].x * inv * s.x, v[i].y * inv * s.y, v[i].z * inv * s.z, v[i].w * inv * s.w};
    if (shift) {  // the same fp32 operations as rms_norm, then modulate
      const float4 sh = load4(shift + vector_row + 4 * g), sc = load4(mod_scale + vector_row + 4 * g);
      y = {y.x * (1.0f + sc.x) + sh.x, y.y * (1.0f + sc.y) + sh.y, y.z * (1.0f + sc.z) + sh.z,
           y.w * (1.0f + sc.w) + sh.w};
    }
    if constexpr (kFp8) {
      v[i] = y;
      amax = fmaxf(amax, fmaxf(fmaxf(fabsf(y.x), fabsf(y.y)), fmaxf(fabsf(y.z), fabsf(y.w))));
    } else {
      store4(yr + 4 * g, y);
    }
  }
  if constexpr (kFp8) {
    const float row_scale = e4m3_scale(block_max(amax));
    if (threadIdx.x == 0) out_scales[blockIdx.x] = row_scale;
#pragma unroll
    for (int i = 0; i < kGroupsPerThread; ++i) {
      const int g = threadIdx.x + i * blockDim.x;
      if (g >= groups) break;
      const float y[4] = {v[i].x, v[i].y, v[i].z, v[i].w};
      reinterpret_cast<std::uint32_t*>(yr)[g] = pack_e4m3(y, row_scale);
    }
  }
}

void rms_norm(const RmsNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return;
  if (p.dim % 4 != 0 || p.dim > kMaxDim)
    throw CudaError("rms_norm: dim " + std::to_string(p.dim) + " must be a multiple of 4 and at most " +
                    std::to_string(kMaxDim));
  const std::int64_t groups = p.dim / 4;
  const std::int64_t per_thread = (groups + kGroupsPerThread - 1) / kGroupsPerThread;
  const auto threads = static_cast<unsigned>((per_thread + kWarpSize - 1) / kWarpSize * kWarpSize);
  const bool update = p.update.src != nullptr;
  if (update && (p.type != ElementType::F32 || !p.update.gate || !p.shift))
    throw CudaError("rms_norm: a residual update needs an fp32 x, its gate and the modulation");
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    auto* x = static_cast<T*>(p.x);
    const auto* scale = static_cast<const T*>(p.scale);
    const auto go = [&](auto out_tag) {
      using O = decltype(out_tag);
      const auto run = [&](auto kernel) {
        launch(kernel, static_cast<unsigned>(p.rows), threads, stream, x, scale, static_cast<O*>(p.out),
               static_cast<int>(p.dim), p.eps, p.shift, p.mod_scale, p.batch_rows, p.out_scales, p.update);
      };
      if (update) run(rms_norm_kernel<T, O, true>);
      else run(rms_norm_kernel<T, O, false>);
    };
    if (p.out_scales) go(__nv_fp8_e4m3{});
    else dispatch_element(p.out_type, go);
  });
}

}  // namespace hs::kernels
