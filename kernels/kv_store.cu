#include "kernels/common.cuh"
#include "kernels/kv_store.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// One block per (batch, step position).
template <typename S, typename C>
static __global__ void kv_store_kernel(C* cache, const S* __restrict__ src, const std::int32_t* __restrict__ positions,
                                       std::int64_t seq, std::int64_t capacity, std::int64_t row) {
  const std::int64_t b = blockIdx.x / seq, s = blockIdx.x % seq;
  const std::int64_t pos = positions[s];
  if (pos < 0 || pos >= capacity) return;
  const S* from = src + (b * seq + s) * row;
  C* to = cache + (b * capacity + pos) * row;
  for (std::int64_t i = threadIdx.x; i < row; i += blockDim.x) to[i] = from_float<C>(to_float(from[i]));
}

void kv_store(const KvStoreParams& p, cudaStream_t stream) {
  if (p.batch * p.seq == 0) return;
  dispatch_element(p.src_type, [&](auto src_tag) {
    dispatch_element(p.cache_type, [&](auto cache_tag) {
      using S = decltype(src_tag);
      using C = decltype(cache_tag);
      kv_store_kernel<S, C><<<static_cast<unsigned>(p.batch * p.seq), kThreads, 0, stream>>>(
          static_cast<C*>(p.cache), static_cast<const S*>(p.src), p.positions, p.seq, p.capacity, p.row);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
