#include "kernels/common.cuh"
#include "kernels/rope.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// One thread per rotated pair.
template <typename T>
static __global__ void rope_kernel(T* x, const std::int32_t* __restrict__ positions, const float* __restrict__ inv_freq,
                                   std::int64_t pairs_total, std::int64_t first_row, int seq, int heads, int pairs) {
  await_previous_kernel();
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= pairs_total) return;
  const int j = static_cast<int>(i % pairs);
  const std::int64_t s = (first_row + i / pairs / heads) % seq;
  float x0 = to_float(x[2 * i]), x1 = to_float(x[2 * i + 1]);
  rotate_pair(x0, x1, positions[s], inv_freq[j]);
  x[2 * i] = from_float<T>(x0);
  x[2 * i + 1] = from_float<T>(x1);
}

void rope(const RopeParams& p, cudaStream_t stream) {
  const std::int64_t pairs_total = p.rows * p.heads * (p.head_dim / 2);
  if (pairs_total == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    launch(rope_kernel<T>, blocks_for(pairs_total, kThreads), kThreads, stream, static_cast<T*>(p.x), p.positions,
           p.inv_freq, pairs_total, p.first_row, static_cast<int>(p.seq), static_cast<int>(p.heads),
           static_cast<int>(p.head_dim / 2));
  });
}

}  // namespace hs::kernels
