#include <algorithm>

#include "kernels/common.cuh"
#include "kernels/quantize_fp8.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
constexpr int kVectorsPerThread = 4;  // float4 groups a thread of the vector kernel holds in registers
constexpr int kMaxThreads = 1024;
constexpr std::int64_t kVectorMaxCols = 4 * kVectorsPerThread * kMaxThreads;
}  // namespace

// Rows of whole float4 groups (≤ kVectorMaxCols): each value is read once, into registers, and
// the four E4M3 bytes of a group are stored together; the same arithmetic as the scalar kernel.
template <typename T>
static __global__ void __launch_bounds__(kMaxThreads)
    quantize_fp8_vector_kernel(const T* __restrict__ x, __nv_fp8_e4m3* q, float* scales, int cols) {
  await_previous_kernel();
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * cols;
  const int groups = cols / 4;
  float v[kVectorsPerThread][4];
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < kVectorsPerThread; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) load_float4<true>(xr, 4 * g, cols, v[i]);
    else v[i][0] = v[i][1] = v[i][2] = v[i][3] = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) amax = fmaxf(amax, fabsf(v[i][k]));
  }
  const float scale = e4m3_scale(block_max(amax));
  if (threadIdx.x == 0) scales[blockIdx.x] = scale;
  auto* qr = reinterpret_cast<std::uint32_t*>(q + static_cast<std::int64_t>(blockIdx.x) * cols);
#pragma unroll
  for (int i = 0; i < kVectorsPerThread; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g >= groups) break;
    qr[g] = pack_e4m3(v[i], scale);
  }
}

template <typename T>
static __global__ void quantize_fp8_kernel(const T* __restrict__ x, __nv_fp8_e4m3* q, float* scales, std::int64_t cols) {
  await_previous_kernel();
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * cols;
  float amax = 0.0f;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) amax = fmaxf(amax, fabsf(to_float(xr[c])));
  const float scale = e4m3_scale(block_max(amax));
  if (threadIdx.x == 0) scales[blockIdx.x] = scale;
  __nv_fp8_e4m3* qr = q + static_cast<std::int64_t>(blockIdx.x) * cols;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) qr[c] = __nv_fp8_e4m3(to_float(xr[c]) / scale);
}

void quantize_fp8(const QuantizeFp8Params& p, cudaStream_t stream) {
  if (p.rows == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const bool vector = p.cols % 4 == 0 && p.cols <= kVectorMaxCols && aligned_to(p.x, 4 * sizeof(T)) &&
                        aligned_to(p.q, 4);
    if (vector) {
      const std::int64_t per_thread = (p.cols / 4 + kVectorsPerThread - 1) / kVectorsPerThread;
      const auto threads = static_cast<unsigned>((per_thread + kWarpSize - 1) / kWarpSize * kWarpSize);
      launch(quantize_fp8_vector_kernel<T>, static_cast<unsigned>(p.rows), threads, stream, static_cast<const T*>(p.x),
             static_cast<__nv_fp8_e4m3*>(p.q), p.scales, static_cast<int>(p.cols));
    } else {
      launch(quantize_fp8_kernel<T>, static_cast<unsigned>(p.rows), kThreads, stream, static_cast<const T*>(p.x),
             static_cast<__nv_fp8_e4m3*>(p.q), p.scales, p.cols);
    }
  });
}

// 16 E4M3 values (one 16-byte vector) per thread and iteration, as two 16-byte bf16 vectors; a
// scalar tail when count is not a multiple of 16 or a pointer is not 16-byte aligned. With row
// scales (cols a multiple of 16 for vectors), value i is multiplied by row_scales[i / cols] first.
static __global__ void widen_fp8_kernel(const std::uint8_t* __restrict__ q, __nv_bfloat16* __restrict__ out,
                                        std::int64_t count, bool vector, const float* __restrict__ row_scales,
                                        std::int64_t cols) {
  await_previous_kernel();
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t vectors = vector ? count / 16 : 0;
  for (std::int64_t v = first; v < vectors; v += stride) {
    float f[16];
    unpack_vector<__nv_fp8_e4m3>(reinterpret_cast<const uint4*>(q)[v], f);
    const float s = row_scales ? row_scales[16 * v / cols] : 1.0f;
    std::uint32_t words[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const __nv_bfloat162 pair = __floats2bfloat162_rn(f[2 * i] * s, f[2 * i + 1] * s);
      words[i] = *reinterpret_cast<const std::uint32_t*>(&pair);
    }
    auto* o = reinterpret_cast<uint4*>(out) + 2 * v;
    o[0] = make_uint4(words[0], words[1], words[2], words[3]);
    o[1] = make_uint4(words[4], words[5], words[6], words[7]);
  }
  for (std::int64_t i = vectors * 16 + first; i < count; i += stride) {
    const float s = row_scales ? row_scales[i / cols] : 1.0f;
    out[i] = __float2bfloat16_rn(to_float(reinterpret_cast<const __nv_fp8_e4m3*>(q)[i]) * s);
  }
}

void widen_fp8(const void* q, void* out, std::int64_t count, cudaStream_t stream, const float* row_scales,
               std::int64_t cols) {
  if (count == 0) return;
  if (row_scales && (cols <= 0 || count % cols != 0))
    throw CudaError("widen_fp8: " + std::to_string(count) + " values are not rows of " + std::to_string(cols));
  const bool vector = aligned_to(q, 16) && aligned_to(out, 16) && (!row_scales || cols % 16 == 0);
  const std::int64_t work = vector ? (count + 15) / 16 : count;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((work + kThreads - 1) / kThreads, 4096));
  launch(widen_fp8_kernel, blocks, kThreads, stream, static_cast<const std::uint8_t*>(q),
         static_cast<__nv_bfloat16*>(out), count, vector, row_scales, cols);
}

}  // namespace hs::kernels
