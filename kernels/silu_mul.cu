#include "kernels/common.cuh"
#include "kernels/silu_mul.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

template <typename T, typename O>
static __global__ void silu_mul_kernel(const T* gate, const T* up, O* out, std::int64_t n) {
  await_previous_kernel();
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  out[i] = from_float<O>(swiglu(to_float(gate[i]), to_float(up[i])));
}

void silu_mul(const SiluMulParams& p, cudaStream_t stream) {
  if (p.n == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      using T = decltype(tag);
      using O = decltype(out_tag);
      launch(silu_mul_kernel<T, O>, blocks_for(p.n, kThreads), kThreads, stream, static_cast<const T*>(p.gate),
             static_cast<const T*>(p.up), static_cast<O*>(p.out), p.n);
    });
  });
}

}  // namespace hs::kernels
