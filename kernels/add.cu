#include "kernels/add.cuh"
#include "kernels/common.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename T>
static __global__ void add_kernel(const T* a, const T* b, T* out, std::int64_t n) {
  await_previous_kernel();
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = from_float<T>(to_float(a[i]) + to_float(b[i]));
}

void add(const AddParams& p, cudaStream_t stream) {
  if (p.n == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    launch(add_kernel<T>, blocks_for(p.n, kThreads), kThreads, stream, static_cast<const T*>(p.a),
           static_cast<const T*>(p.b), static_cast<T*>(p.out), p.n);
  });
}

}  // namespace hs::kernels
