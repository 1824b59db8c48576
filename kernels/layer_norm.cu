#include "kernels/common.cuh"
#include "kernels/layer_norm.cuh"

namespace hs::kernels {
namespace {

constexpr int kGroupsPerThread = 4;  // groups of 4 values a thread holds in registers
constexpr int kGroupSize = 4;
constexpr int kMaxThreads = 1024;
static_assert(kLayerNormMaxDim == kGroupSize * kGroupsPerThread * kMaxThreads);

}  // namespace

// One block per row. The row is read once into registers (vector loads when Vector: dim a
// multiple of 4 and x, out aligned), then mean and the sum of squared deviations from it (two
// passes, no cancellation for rows far from zero mean), then the normalised write. Every read
// precedes the first block_sum barrier, so out may alias x.
template <typename T, bool Vector>
static __global__ void __launch_bounds__(kMaxThreads) layer_norm_kernel(const T* x, T* out, int dim, float eps) {
  await_previous_kernel();
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * dim;
  T* yr = out + static_cast<std::int64_t>(blockIdx.x) * dim;
  float v[kGroupsPerThread][kGroupSize];
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kGroupsPerThread; ++i) {
    const int j = (threadIdx.x + i * blockDim.x) * kGroupSize;
    if (j < dim) {
      load_float4<Vector>(xr, j, dim, v[i]);  // zeros past dim
    } else {
#pragma unroll
      for (int k = 0; k < kGroupSize; ++k) v[i][k] = 0.0f;
    }
#pragma unroll
    for (int k = 0; k < kGroupSize; ++k) sum += v[i][k];
  }
  const float mean = block_sum(sum) / static_cast<float>(dim);
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kGroupsPerThread; ++i) {
    const int j = (threadIdx.x + i * blockDim.x) * kGroupSize;
#pragma unroll
    for (int k = 0; k < kGroupSize; ++k) {
      const float d = j + k < dim ? v[i][k] - mean : 0.0f;
      squares += d * d;
    }
  }
  const float inv = rsqrtf(block_sum(squares) / static_cast<float>(dim) + eps);
#pragma unroll
  for (int i = 0; i < kGroupsPerThread; ++i) {
    const int j = (threadIdx.x + i * blockDim.x) * kGroupSize;
    if (j >= dim) break;
    float y[kGroupSize];
#pragma unroll
    for (int k = 0; k < kGroupSize; ++k) y[k] = (v[i][k] - mean) * inv;
    store_float4<Vector>(yr, j, dim, y);
  }
}

void layer_norm(const LayerNormParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.dim == 0) return;
  if (p.dim > kLayerNormMaxDim)
    throw CudaError("layer_norm: dim " + std::to_string(p.dim) + " is above " + std::to_string(kLayerNormMaxDim));
  const std::int64_t groups = (p.dim + kGroupSize - 1) / kGroupSize;
  const std::int64_t per_thread = (groups + kGroupsPerThread - 1) / kGroupsPerThread;
  const auto threads = static_cast<unsigned>((per_thread + kWarpSize - 1) / kWarpSize * kWarpSize);
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    constexpr std::size_t kVectorBytes = kGroupSize * sizeof(T);
    const bool vector = p.dim % kGroupSize == 0 && aligned_to(p.x, kVectorBytes) && aligned_to(p.out, kVectorBytes);
    auto* const kernel = vector ? layer_norm_kernel<T, true> : layer_norm_kernel<T, false>;
    launch(kernel, static_cast<unsigned>(p.rows), threads, stream, static_cast<const T*>(p.x), static_cast<T*>(p.out),
           static_cast<int>(p.dim), p.eps);
  });
}

}  // namespace hs::kernels
