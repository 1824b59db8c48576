#include <cmath>

#include "kernels/common.cuh"
#include "kernels/timestep_embedding.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// One thread per (b, i < half): the cos and the sin of one frequency.
template <typename T>
static __global__ void timestep_embedding_kernel(const float* t, T* out, std::int64_t batch, std::int64_t half,
                                                 double scale, double log_max_period) {
  await_previous_kernel();
  const std::int64_t index = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= batch * half) return;
  const std::int64_t b = index / half, i = index % half;
  // The CPU reference's expression order: exp(−log(max_period) · i / half).
  const double freq = exp(-log_max_period * static_cast<double>(i) / static_cast<double>(half));
  const double arg = static_cast<double>(t[b]) * scale * freq;
  T* row = out + b * 2 * half;
  row[i] = from_float<T>(static_cast<float>(cos(arg)));
  row[half + i] = from_float<T>(static_cast<float>(sin(arg)));
}

void timestep_embedding(const TimestepEmbeddingParams& p, cudaStream_t stream) {
  const std::int64_t half = p.dim / 2;
  if (p.batch == 0 || half == 0) return;
  // log on the host: the reference's std::log, exactly.
  const double log_max_period = std::log(static_cast<double>(p.max_period));
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    launch(timestep_embedding_kernel<T>, blocks_for(p.batch * half, kThreads), kThreads, stream, p.t,
           static_cast<T*>(p.out), p.batch, half, static_cast<double>(p.scale), log_max_period);
  });
}

}  // namespace hs::kernels
