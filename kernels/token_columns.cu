#include "kernels/common.cuh"
#include "kernels/token_columns.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

static __global__ void token_columns_kernel(const std::int32_t* src, std::int32_t* dst, std::int64_t columns,
                                            std::int64_t rows, std::int64_t width) {
  await_previous_kernel();
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= columns * rows) return;
  const std::int64_t c = i / rows, r = i % rows;
  dst[r * width + c] = src[i];
}

void token_columns(const std::int32_t* src, std::int32_t* dst, std::int64_t columns, std::int64_t rows,
                   std::int64_t width, cudaStream_t stream) {
  if (columns * rows == 0) return;
  launch(token_columns_kernel, blocks_for(columns * rows, kThreads), kThreads, stream, src, dst, columns, rows, width);
}

}  // namespace hs::kernels
