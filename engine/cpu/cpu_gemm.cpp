#include "engine/cpu/cpu_gemm.h"

#include <algorithm>
#include <cstring>

#include "engine/core/parallel.h"

namespace hs::cpu {
namespace {

using v8 = float __attribute__((vector_size(32)));
constexpr std::int64_t kLanes = 8;
constexpr std::int64_t kTileRows = 2;  // rows × outputs per register tile: 8 accumulators
constexpr std::int64_t kTileOuts = 4;
// A task: a block of rows × a block of outputs (their x and w rows stay in cache while it runs).
constexpr std::int64_t kRowsPerTask = 32;
constexpr std::int64_t kOutsPerTask = 128;

#if defined(__x86_64__)
#define HS_GEMM_TARGET __attribute__((target("avx2,fma")))
#else
#define HS_GEMM_TARGET
#endif

HS_GEMM_TARGET inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

HS_GEMM_TARGET inline float lanes_sum(v8 a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// An R × O tile of outputs; every output goes through the same operations whatever R and O are.
template <int R, int O>
HS_GEMM_TARGET void tile(const float* x, const float* w, float* out, std::int64_t in, std::int64_t outs,
                         bool accumulate) {
  v8 acc[R][O] = {};
  const std::int64_t whole = in / kLanes * kLanes;
  for (std::int64_t k = 0; k < whole; k += kLanes) {
    v8 xv[R];
    for (int r = 0; r < R; ++r) xv[r] = load8(x + r * in + k);
    for (int o = 0; o < O; ++o) {
      const v8 wv = load8(w + o * in + k);
      for (int r = 0; r < R; ++r) acc[r][o] += xv[r] * wv;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int o = 0; o < O; ++o) {
      float s = lanes_sum(acc[r][o]);
      for (std::int64_t k = whole; k < in; ++k) s += x[r * in + k] * w[o * in + k];
      float& y = out[r * outs + o];
      y = accumulate ? y + s : s;
    }
}

template <int R>
void row_tile(const float* x, const float* w, float* out, std::int64_t o_begin, std::int64_t o_end, std::int64_t in,
              std::int64_t outs, bool accumulate) {
  std::int64_t o = o_begin;
  for (; o + kTileOuts <= o_end; o += kTileOuts) tile<R, kTileOuts>(x, w + o * in, out + o, in, outs, accumulate);
  for (; o < o_end; ++o) tile<R, 1>(x, w + o * in, out + o, in, outs, accumulate);
}

}  // namespace

void row_invariant_gemm(const float* x, const float* w, float* out, std::int64_t rows, std::int64_t outs,
                        std::int64_t in, bool accumulate) {
  const std::int64_t row_blocks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  const std::int64_t out_blocks = (outs + kOutsPerTask - 1) / kOutsPerTask;
  parallel_for(row_blocks * out_blocks, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t o_begin = task / row_blocks * kOutsPerTask, o_end = std::min(outs, o_begin + kOutsPerTask);
      const std::int64_t r_begin = task % row_blocks * kRowsPerTask, r_end = std::min(rows, r_begin + kRowsPerTask);
      std::int64_t r = r_begin;
      for (; r + kTileRows <= r_end; r += kTileRows)
        row_tile<kTileRows>(x + r * in, w, out + r * outs, o_begin, o_end, in, outs, accumulate);
      for (; r < r_end; ++r) row_tile<1>(x + r * in, w, out + r * outs, o_begin, o_end, in, outs, accumulate);
    }
  });
}

}  // namespace hs::cpu
