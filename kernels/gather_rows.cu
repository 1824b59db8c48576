#include "kernels/common.cuh"
#include "kernels/gather_rows.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

static __global__ void gather_rows_kernel(const std::uint16_t* __restrict__ table, const std::int32_t* __restrict__ ids,
                                          std::uint16_t* out, std::int64_t table_rows, std::int64_t row_words,
                                          std::int64_t id_offset) {
  const std::int64_t row = ids[blockIdx.x] + id_offset;
  const bool valid = row >= 0 && row < table_rows;
  std::uint16_t* dst = out + static_cast<std::int64_t>(blockIdx.x) * row_words;
  for (std::int64_t i = threadIdx.x; i < row_words; i += blockDim.x) dst[i] = valid ? table[row * row_words + i] : 0;
}

void gather_rows(const GatherRowsParams& p, cudaStream_t stream) {
  if (p.n == 0) return;
  gather_rows_kernel<<<static_cast<unsigned>(p.n), kThreads, 0, stream>>>(
      static_cast<const std::uint16_t*>(p.table), p.ids, static_cast<std::uint16_t*>(p.out), p.table_rows,
      p.row_bytes / 2, p.id_offset);
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
