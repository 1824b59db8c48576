#include "kernels/common.cuh"
#include "kernels/rope_store.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// grid (batch · seq, items / kThreads): one thread per q pair, k pair or v element of a token;
// the k pairs are written to the cache as well, the v elements only there.
template <typename T, typename C>
static __global__ void rope_store_kernel(RopeStoreParams p) {
  await_previous_kernel();
  const std::int64_t token = blockIdx.x, s = token % p.seq, b = token / p.seq;
  const std::int64_t pairs = p.head_dim / 2;
  const std::int64_t q_pairs = p.q_heads * pairs, k_pairs = p.kv_heads * pairs, kv_row = p.kv_heads * p.head_dim;
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  const std::int64_t pos = p.positions[s];
  const std::int64_t at = p.slots ? static_cast<std::int64_t>(p.slots[token]) : b * p.capacity + pos;
  const bool cached = p.k_cache && (p.slots ? at >= 0 && at < p.capacity : pos >= 0 && pos < p.capacity);
  const std::int64_t cache_row = at * kv_row;
  if (i >= q_pairs + k_pairs) {
    const std::int64_t e = i - q_pairs - k_pairs;
    if (e < kv_row && cached)
      static_cast<C*>(p.v_cache)[cache_row + e] = from_float<C>(to_float(static_cast<const T*>(p.v)[token * kv_row + e]));
    return;
  }
  const bool is_q = i < q_pairs;
  const std::int64_t pair = is_q ? i : i - q_pairs;
  T* x = static_cast<T*>(is_q ? p.q : p.k) + token * (is_q ? q_pairs : k_pairs) * 2 + 2 * pair;
  float x0 = to_float(x[0]), x1 = to_float(x[1]);
  rotate_pair(x0, x1, pos, p.inv_freq[pair % pairs]);
  const T r0 = from_float<T>(x0), r1 = from_float<T>(x1);
  x[0] = r0;
  x[1] = r1;
  if (!is_q && cached) {
    C* to = static_cast<C*>(p.k_cache) + cache_row + 2 * pair;
    to[0] = from_float<C>(to_float(r0));
    to[1] = from_float<C>(to_float(r1));
  }
}

void rope_store(const RopeStoreParams& p, cudaStream_t stream) {
  const std::int64_t pairs = p.head_dim / 2;
  const std::int64_t items = (p.q_heads + p.kv_heads) * pairs + p.kv_heads * p.head_dim;
  if (p.batch * p.seq == 0 || items == 0) return;
  const dim3 grid(static_cast<unsigned>(p.batch * p.seq), blocks_for(items, kThreads));
  dispatch_element(p.type, [&](auto tag) {
    dispatch_element(p.cache_type, [&](auto cache_tag) {
      launch(rope_store_kernel<decltype(tag), decltype(cache_tag)>, grid, kThreads, stream, p);
    });
  });
}

}  // namespace hs::kernels
