#include "kernels/common.cuh"
#include "kernels/kv_store.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// One block per (batch, step position).
static __global__ void kv_store_kernel(std::uint16_t* cache, const std::uint16_t* __restrict__ src,
                                       const std::int32_t* __restrict__ positions, std::int64_t seq,
                                       std::int64_t capacity, std::int64_t row_words) {
  const std::int64_t b = blockIdx.x / seq, s = blockIdx.x % seq;
  const std::int64_t pos = positions[s];
  if (pos < 0 || pos >= capacity) return;
  const std::uint16_t* from = src + (b * seq + s) * row_words;
  std::uint16_t* to = cache + (b * capacity + pos) * row_words;
  for (std::int64_t i = threadIdx.x; i < row_words; i += blockDim.x) to[i] = from[i];
}

void kv_store(const KvStoreParams& p, cudaStream_t stream) {
  if (p.batch * p.seq == 0) return;
  kv_store_kernel<<<static_cast<unsigned>(p.batch * p.seq), kThreads, 0, stream>>>(
      static_cast<std::uint16_t*>(p.cache), static_cast<const std::uint16_t*>(p.src), p.positions, p.seq, p.capacity,
      p.row_bytes / 2);
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
