#include <algorithm>
#include <initializer_list>

#include "kernels/columns.cuh"
#include "kernels/common.cuh"

namespace hs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxGridY = 65535;  // gridDim.y / .z limit; more rows or matrices loop
constexpr int kTile = 32;                  // transpose tile edge (one warp wide)
constexpr int kTileRows = 8;               // thread rows per tile: each thread moves kTile / kTileRows values
constexpr int kRepeatPerThread = 4;        // repeat_last outputs per thread: one vector store

// Calls f(E{}) with E the unsigned word of one element (the copies move bits, not values).
template <typename F>
void dispatch_bits(ElementType type, F&& f) {
  if (type == ElementType::F32) f(std::uint32_t{});
  else f(std::uint16_t{});
}

std::uint64_t element_bytes(ElementType type) { return type == ElementType::F32 ? 4 : 2; }

// Calls f(U{}) with U the widest of 16-, 8-, 4- and 2-byte words that divides every one of
// `bytes` (addresses, strides, lengths).
template <typename F>
void dispatch_word(std::initializer_list<std::uint64_t> bytes, F&& f) {
  std::uint64_t any = 0;
  for (std::uint64_t b : bytes) any |= b;
  if (any % 16 == 0) f(uint4{});
  else if (any % 8 == 0) f(uint2{});
  else if (any % 4 == 0) f(std::uint32_t{});
  else f(std::uint16_t{});
}

std::uint64_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

template <typename E>
struct alignas(kRepeatPerThread * sizeof(E)) Pack {
  E v[kRepeatPerThread];
};

}  // namespace

// Word j of row r; a block is blockDim.y rows of up to kThreads words, so short rows (carried
// conv state) still fill it.
template <typename U>
static __global__ void copy_columns_kernel(const U* src, U* dst, std::int64_t rows, std::int64_t n,
                                           std::int64_t src_stride, std::int64_t dst_stride) {
  await_previous_kernel();
  const std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= n) return;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < rows;
       r += static_cast<std::int64_t>(gridDim.y) * blockDim.y)
    dst[r * dst_stride + j] = src[r * src_stride + j];
}

// One kTile × kTile tile per block (blockIdx.x = row tile · col_tiles + column tile), through shared
// memory so that both the read of x's rows and the write of out's rows are coalesced.
template <typename E>
static __global__ void __launch_bounds__(kTile * kTileRows)
    transpose_kernel(const E* __restrict__ x, E* __restrict__ out, std::int64_t outer, std::int64_t rows,
                     std::int64_t cols, std::int64_t col_tiles) {
  await_previous_kernel();
  __shared__ E tile[kTile][kTile + 1];  // +1: a tile column spreads over the banks
  const std::int64_t r0 = blockIdx.x / col_tiles * kTile, c0 = blockIdx.x % col_tiles * kTile;
  for (std::int64_t a = blockIdx.z; a < outer; a += gridDim.z) {
    const E* xa = x + a * rows * cols;
    E* ya = out + a * rows * cols;
    for (int k = threadIdx.y; k < kTile; k += kTileRows) {
      const std::int64_t r = r0 + k, c = c0 + threadIdx.x;
      if (r < rows && c < cols) tile[k][threadIdx.x] = xa[r * cols + c];
    }
    __syncthreads();
    for (int k = threadIdx.y; k < kTile; k += kTileRows) {
      const std::int64_t c = c0 + k, r = r0 + threadIdx.x;
      if (c < cols && r < rows) ya[c * rows + r] = tile[threadIdx.x][k];
    }
    __syncthreads();  // the next matrix refills the tile
  }
}

// kRepeatPerThread consecutive outputs per thread, stored as one vector when Vector (out aligned)
// and the group is whole; one division per group.
template <typename E, bool Vector>
static __global__ void repeat_last_kernel(const E* __restrict__ x, E* __restrict__ out, std::int64_t total,
                                          std::int64_t factor) {
  await_previous_kernel();
  const std::int64_t o = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * kRepeatPerThread;
  if (o >= total) return;
  Pack<E> pack;
  std::int64_t i = o / factor, k = o - i * factor;
#pragma unroll
  for (int q = 0; q < kRepeatPerThread; ++q) {
    if (o + q < total) pack.v[q] = x[i];
    if (++k == factor) k = 0, ++i;
  }
  if (Vector && o + kRepeatPerThread <= total) {
    *reinterpret_cast<Pack<E>*>(out + o) = pack;
  } else {
    for (int q = 0; q < kRepeatPerThread && o + q < total; ++q) out[o + q] = pack.v[q];
  }
}

void copy_columns(const CopyColumnsParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.n == 0) return;
  const std::uint64_t bytes = element_bytes(p.type);
  const char* src = static_cast<const char*>(p.src) + p.src_offset * bytes;
  char* dst = static_cast<char*>(p.dst) + p.dst_offset * bytes;
  // Strides matter only from the second row on.
  const std::uint64_t src_stride = p.rows > 1 ? p.src_stride * bytes : 0;
  const std::uint64_t dst_stride = p.rows > 1 ? p.dst_stride * bytes : 0;
  dispatch_word({address(src), address(dst), src_stride, dst_stride, p.n * bytes}, [&](auto word) {
    using U = decltype(word);
    const std::int64_t n = p.n * bytes / sizeof(U);
    const std::int64_t row_threads = (n + kWarpSize - 1) / kWarpSize * kWarpSize;  // whole warps
    const auto width = static_cast<unsigned>(std::min<std::int64_t>(kThreads, row_threads));
    const unsigned height = kThreads / width;
    const dim3 grid(blocks_for(n, static_cast<int>(width)),
                    static_cast<unsigned>(std::min((p.rows + height - 1) / height, kMaxGridY)));
    launch(copy_columns_kernel<U>, grid, dim3(width, height), stream, reinterpret_cast<const U*>(src),
           reinterpret_cast<U*>(dst), p.rows, n, static_cast<std::int64_t>(src_stride / sizeof(U)),
           static_cast<std::int64_t>(dst_stride / sizeof(U)));
  });
}

void transpose(const TransposeParams& p, cudaStream_t stream) {
  if (p.outer == 0 || p.rows == 0 || p.cols == 0) return;
  const std::int64_t row_tiles = (p.rows + kTile - 1) / kTile, col_tiles = (p.cols + kTile - 1) / kTile;
  const std::int64_t tiles = row_tiles * col_tiles;
  constexpr std::int64_t kMaxGridX = 0x7fffffff;
  if (tiles > kMaxGridX) throw CudaError("transpose: " + std::to_string(tiles) + " tiles exceed the grid");
  const dim3 grid(static_cast<unsigned>(tiles), 1, static_cast<unsigned>(std::min(p.outer, kMaxGridY)));
  dispatch_bits(p.type, [&](auto tag) {
    using E = decltype(tag);
    launch(transpose_kernel<E>, grid, dim3(kTile, kTileRows), stream, static_cast<const E*>(p.x),
           static_cast<E*>(p.out), p.outer, p.rows, p.cols, col_tiles);
  });
}

void repeat_last(const RepeatLastParams& p, cudaStream_t stream) {
  const std::int64_t total = p.n * p.factor;
  if (total == 0) return;
  const std::int64_t groups = (total + kRepeatPerThread - 1) / kRepeatPerThread;
  dispatch_bits(p.type, [&](auto tag) {
    using E = decltype(tag);
    const bool vector = aligned_to(p.out, sizeof(Pack<E>));
    auto* const kernel = vector ? repeat_last_kernel<E, true> : repeat_last_kernel<E, false>;
    launch(kernel, blocks_for(groups, kThreads), kThreads, stream, static_cast<const E*>(p.x), static_cast<E*>(p.out),
           total, p.factor);
  });
}

}  // namespace hs::kernels
