#include "kernels/common.cuh"
#include "kernels/kv_store.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;

// The cache row of token (b, s), or -1 when it stores nothing.
__device__ __forceinline__ std::int64_t cache_row(const KvStoreParams& p, std::int64_t b, std::int64_t s) {
  const std::int64_t at = p.slots ? p.slots[s] : p.positions[s];
  if (at < 0 || at >= p.capacity) return -1;
  return p.slots ? at : b * p.capacity + at;
}
}  // namespace

// One block per (batch, step position).
template <typename S, typename C>
static __global__ void kv_store_kernel(KvStoreParams p) {
  await_previous_kernel();
  const std::int64_t b = blockIdx.x / p.seq, s = blockIdx.x % p.seq;
  const std::int64_t row = cache_row(p, b, s);
  if (row < 0) return;
  const S* from = static_cast<const S*>(p.src) + (b * p.seq + s) * p.row;
  C* to = static_cast<C*>(p.cache) + row * p.row;
  for (std::int64_t i = threadIdx.x; i < p.row; i += blockDim.x) to[i] = from_float<C>(to_float(from[i]));
}

// One block per (batch, step position), one warp per head_dim vector: amax, scale, quantize.
template <typename S>
static __global__ void kv_store_fp8_kernel(KvStoreParams p) {
  await_previous_kernel();
  const std::int64_t b = blockIdx.x / p.seq, s = blockIdx.x % p.seq;
  const std::int64_t row = cache_row(p, b, s);
  if (row < 0) return;
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const std::int64_t heads = p.row / p.head_dim;
  for (std::int64_t h = warp; h < heads; h += kThreads / kWarpSize) {
    const S* from = static_cast<const S*>(p.src) + (b * p.seq + s) * p.row + h * p.head_dim;
    float amax = 0.0f;
    for (std::int64_t d = lane; d < p.head_dim; d += kWarpSize) amax = fmaxf(amax, fabsf(to_float(from[d])));
    amax = warp_max(amax);
    const float scale = e4m3_scale(amax);
    if (lane == 0) p.scale[row * heads + h] = scale;
    __nv_fp8_e4m3* to = static_cast<__nv_fp8_e4m3*>(p.cache) + row * p.row + h * p.head_dim;
    for (std::int64_t d = lane; d < p.head_dim; d += kWarpSize) to[d] = __nv_fp8_e4m3(to_float(from[d]) / scale);
  }
}

void kv_store(const KvStoreParams& p, cudaStream_t stream) {
  if (p.batch * p.seq == 0) return;
  const auto blocks = static_cast<unsigned>(p.batch * p.seq);
  dispatch_element(p.src_type, [&](auto src_tag) {
    using S = decltype(src_tag);
    if (p.scale) {
      launch(kv_store_fp8_kernel<S>, blocks, kThreads, stream, p);
      return;
    }
    dispatch_element(p.cache_type, [&](auto cache_tag) {
      launch(kv_store_kernel<S, decltype(cache_tag)>, blocks, kThreads, stream, p);
    });
  });
}

}  // namespace hs::kernels
