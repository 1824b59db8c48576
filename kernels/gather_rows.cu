#include "kernels/common.cuh"
#include "kernels/gather_rows.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// grid (ids, column blocks): one element per thread (a decode step gathers a single row, so the
// kernel is one load's latency, not a loop of them).
template <typename Tab, typename O>
static __global__ void gather_rows_kernel(GatherRowsParams p) {
  await_previous_kernel();
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (i >= p.dim) return;
  const std::int64_t row = p.ids[blockIdx.x] + p.id_offset;
  const bool valid = row >= 0 && row < p.table_rows;
  const Tab* src = static_cast<const Tab*>(p.table) + row * p.dim;
  O* dst = static_cast<O*>(p.out) + static_cast<std::int64_t>(blockIdx.x) * p.dim;
  dst[i] = from_float<O>(valid ? to_float(src[i]) : 0.0f);
}

void gather_rows(const GatherRowsParams& p, cudaStream_t stream) {
  if (p.n == 0) return;
  const dim3 grid(static_cast<unsigned>(p.n), blocks_for(p.dim, kThreads));
  dispatch_element(p.table_type, [&](auto table_tag) {
    dispatch_element(p.out_type, [&](auto out_tag) {
      launch(gather_rows_kernel<decltype(table_tag), decltype(out_tag)>, grid, kThreads, stream, p);
    });
  });
}

}  // namespace hs::kernels
